//! `pec sandbox serve` starts the reference provider on a free loopback port with a real
//! SQLite file, serves its OpenAPI document, and stops on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn serve_listens_answers_and_stops_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("pec-cli-sandbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sandbox.sqlite");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pec"))
        .args(["sandbox", "serve", "--addr", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("pec runs");

    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let body = std::process::Command::new("curl")
        .args(["-fsS", &format!("{base}/openapi.json")])
        .output()
        .expect("curl runs");
    assert!(body.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&body.stdout).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(db.is_file(), "the SQLite file was created");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "clean shutdown on SIGTERM: {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
