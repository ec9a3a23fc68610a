//! `pec backup` through the real binary against the Dovecot IMAP rig (scripts/rig/dovecot.sh,
//! `PEC_IMAP_RIG=1`, started by scripts/test.sh). Fails without the rig, never skips.

use std::process::{Command, Output, Stdio};

struct Rig {
    host: String,
    port: String,
    password: String,
    ca: String,
    test_domain: String,
}

fn rig() -> Rig {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: these tests need the Dovecot IMAP rig; run ./scripts/test.sh"
            )
        })
    };
    assert_eq!(var("PEC_IMAP_RIG"), "1", "see scripts/test.sh");
    let addr = var("PEC_IMAP_ADDR");
    let (host, port) = addr.rsplit_once(':').expect("PEC_IMAP_ADDR is host:port");
    Rig {
        host: host.to_owned(),
        port: port.to_owned(),
        password: var("PEC_IMAP_PASSWORD"),
        ca: var("PEC_IMAP_CA"),
        test_domain: var("PEC_IMAP_TEST_DOMAIN"),
    }
}

fn pec_backup(rig: &Rig, user: &str, dest: &std::path::Path, password: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pec"));
    cmd.args([
        "backup", "--host", &rig.host, "--port", &rig.port, "--user", user,
    ])
    .arg("--dest")
    .arg(dest)
    .args(["--ca", &rig.ca, "--json"])
    .stdin(Stdio::null())
    .env_remove("PEC_BACKUP_PASSWORD");
    if let Some(p) = password {
        cmd.env("PEC_BACKUP_PASSWORD", p);
    }
    cmd.output().expect("pec runs")
}

fn user(rig: &Rig, test: &str) -> String {
    format!("cli-{test}-{}@{}", std::process::id(), rig.test_domain)
}

#[test]
fn backup_of_an_empty_mailbox_exits_0_with_a_verified_report() {
    let rig = rig();
    let dest = tempfile::tempdir().expect("tempdir");
    let out = pec_backup(&rig, &user(&rig, "empty"), dest.path(), Some(&rig.password));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["verified"], true);
    assert!(dest.path().join("index.json").is_file());
}

#[test]
fn wrong_password_exits_9_with_the_app_password_hint_and_never_prints_it() {
    let rig = rig();
    let dest = tempfile::tempdir().expect("tempdir");
    let out = pec_backup(
        &rig,
        &user(&rig, "wrong"),
        dest.path(),
        Some("sbagliata-123"),
    );
    assert_eq!(out.status.code(), Some(9));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("password per le app"), "{stderr}");
    assert!(stdout.contains("backup.auth_failed"), "{stdout}");
    assert!(!stderr.contains("sbagliata-123") && !stdout.contains("sbagliata-123"));
}

#[test]
fn no_password_and_no_terminal_exits_2() {
    let rig = rig();
    let dest = tempfile::tempdir().expect("tempdir");
    let out = pec_backup(&rig, &user(&rig, "nopw"), dest.path(), None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PEC_BACKUP_PASSWORD"));
}
