//! Tracing to a daily-rotated file in the app's log directory, kept for two weeks.
//!
//! Nothing secret may be logged anywhere in the app (PINs, OTPs, passwords, tokens): the
//! types that carry them redact their `Debug` output, and commands log outcomes, not inputs.
//! Nor anything personal (audit L6: codici fiscali, names, PEC and e-mail addresses, account
//! ids, folder paths): the provider's own ids of requests, orders and tickets are logged, so a
//! support request can be traced. The folder is private to the user (0700).

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

/// How many daily files to keep before the oldest is deleted.
const KEEP_FILES: usize = 14;

pub fn init(dir: &Path) -> Result<WorkerGuard, Box<dyn std::error::Error>> {
    pec_files::private_dir_all(dir)?;
    #[cfg(unix)]
    {
        // Also when it was made, readable by all, by an earlier version.
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("pec-desktop")
        .filename_suffix("log")
        .max_log_files(KEEP_FILES)
        .build(dir)?;
    let (writer, guard) = tracing_appender::non_blocking(appender);

    // PEC_LOG takes the usual filter syntax, e.g. `PEC_LOG=debug` or `PEC_LOG=pec_card=trace`.
    let filter = EnvFilter::try_from_env("PEC_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false),
        )
        .try_init()?;
    Ok(guard)
}
