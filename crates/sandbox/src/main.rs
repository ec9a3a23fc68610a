//! `pec-sandbox`: run the reference provider server, or print its OpenAPI document.
//! The same commands are available as `pec sandbox …`; both come from [`pec_sandbox::cli`].

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "pec-sandbox",
    version,
    about = "Reference PEC provider server (sandbox)"
)]
struct Cli {
    #[command(subcommand)]
    command: pec_sandbox::cli::Command,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    pec_sandbox::cli::run(Cli::parse().command).await
}
