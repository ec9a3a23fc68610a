//! Issue 3's benchmark: the mailbox-status endpoint (`GET /v1/mailboxes/{address}`) over a
//! database of 1,000,000 mailboxes, under `wrk` with 64 connections, beside a trivial axum
//! handler in the same run on the same machine. Prints requests/s, p50/p99 and the ratio.
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!   cargo run --release -p pec-sandbox --example bench_status -- [MAILBOXES] [SECONDS] [DB]
//! ```
//! Needs `wrk` (Debian package `wrk`). Only loopback is targeted; each run is bounded in time.

use std::process::Command;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use pec_sandbox::{Config, Sandbox};

const CONNECTIONS: u32 = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let seconds: u32 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let dir = tempfile::tempdir()?;
    let db = args
        .get(3)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.sqlite"));

    let started = Instant::now();
    {
        let mut conn = pec_sandbox::db::open(&db)?;
        pec_sandbox::seed::seed_bulk(
            &mut conn,
            "acc-bench",
            "Bench-Password-1",
            n,
            chrono::Utc::now(),
        )?;
    }
    eprintln!(
        "seeded {n} mailboxes in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut config = Config::new("127.0.0.1:0".parse()?, db.clone());
    config.seed_demo = false;
    let sandbox = Sandbox::start(config).await?;
    let client = pec_provider::Client::new(sandbox.base_url())?;
    let token = client
        .sign_in("acc-bench", "Bench-Password-1", None)
        .await?
        .access_token;
    let probe = client.mailbox("box0000042@pec.bench.test").await?;
    eprintln!("probe: {} is {:?}", probe.address, probe.identity_state);

    let trivial = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let trivial_addr = trivial.local_addr()?;
    let app = Router::new().route(
        "/status",
        get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
    );
    let trivial_task = tokio::spawn(async move { axum::serve(trivial, app).await });

    // Random mailboxes across the whole table, so the run is not one hot row.
    let script = dir.path().join("random.lua");
    std::fs::write(
        &script,
        format!(
            "math.randomseed(42)\nrequest = function()\n  local path = string.format(\"/v1/mailboxes/box%07d@pec.bench.test\", math.random(0, {}))\n  return wrk.format(nil, path)\nend\n",
            n.saturating_sub(1)
        ),
    )?;
    let status = wrk(
        &format!("{}/", sandbox.base_url()),
        seconds,
        Some(&token),
        Some(&script),
    )?;
    let base = wrk(
        &format!("http://{trivial_addr}/status"),
        seconds,
        None,
        None,
    )?;

    println!();
    println!("| endpoint ({CONNECTIONS} connections, {seconds} s) | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| GET /v1/mailboxes/{{address}} ({n} mailboxes) | {:.0} | {} | {} |",
        status.rps, status.p50, status.p99
    );
    println!(
        "| trivial axum handler | {:.0} | {} | {} |",
        base.rps, base.p50, base.p99
    );
    let ratio = status.rps / base.rps;
    println!();
    println!(
        "ratio {ratio:.2} (goal >= 0.5), p99 {} (goal < 10 ms); errors: status {}, trivial {}",
        status.p99, status.errors, base.errors
    );

    trivial_task.abort();
    sandbox.shutdown().await?;
    Ok(())
}

struct WrkResult {
    rps: f64,
    p50: String,
    p99: String,
    errors: String,
}

fn wrk(
    url: &str,
    seconds: u32,
    token: Option<&str>,
    script: Option<&std::path::Path>,
) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(url);
    let out = cmd
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}): apt-get install wrk"))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let rps = field("Requests/sec:").parse().unwrap_or(0.0);
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Ok(WrkResult {
        rps,
        p50: field("50%"),
        p99: field("99%"),
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors
        },
    })
}
