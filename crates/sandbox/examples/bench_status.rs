//! The mailbox-status benchmark: the mailbox-status endpoint (`GET /v1/mailboxes/{address}`) over a
//! database of 1,000,000 mailboxes, under `wrk` with 64 connections, beside a trivial axum
//! handler in the same run on the same machine. Prints requests/s, p50/p99, the server's and
//! wrk's CPU time per request, the ratio and whether the goal (ratio >= 0.5, p99 < 10 ms) is met.
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
//!   cargo run --profile server -p pec-sandbox --example bench_status -- [MAILBOXES] [SECONDS] [DB] [ROUNDS]
//! ```
//! (`scripts/bench.sh` does this.) Needs `wrk` (Debian package `wrk`). Only loopback is
//! targeted; each run is bounded in time. A given DB file is seeded once and reused.
//!
//! Fairness: wrk runs on the same two cores as the servers, so whatever it spends per request
//! is taken from the server. Both targets therefore get the very same load: the same Lua
//! script (a random mailbox path per request) and the same `Authorization` header; the trivial
//! server answers every path with a fixed small JSON. Only the server side differs.
//!
//! The machine may be shared (builds of other work running beside it), which moves requests/s
//! between runs; the server CPU time per request (from `/proc/self/stat`: both servers run in
//! this process, wrk in its own) moves much less, so it is printed too, with the load average.
//! wrk's CPU time per request (its waited-for child time) shows what the load generator takes
//! from the same cores: throughput is roughly 2 cores / (server + wrk + kernel time per request).
//! Rounds alternate the two targets so that a burst of outside load hits both.
//!
//! For profiling one side alone (`perf stat -p`, `perf record -p`), `PEC_BENCH_ONLY=status`
//! or `PEC_BENCH_ONLY=trivial` loads only that target; the table then shows zeros for the other.

use std::process::Command;
use std::time::Instant;

use axum::Router;
use axum::routing::get;
use pec_sandbox::{Config, Sandbox};

const CONNECTIONS: u32 = 64;
/// The benchmark's goals.
const GOAL_RATIO: f64 = 0.5;
const GOAL_P99_MS: f64 = 10.0;

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
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("bench.sqlite"));
    let rounds: u32 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(2);

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
    let app = Router::new()
        .route("/status", get(trivial_handler))
        .route("/v1/mailboxes/{address}", get(trivial_handler));
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
    let status_url = format!("{}/", sandbox.base_url());
    let trivial_url = format!("http://{trivial_addr}/");

    let only = std::env::var("PEC_BENCH_ONLY").unwrap_or_default();
    // Warm both up (connections, page cache, statement caches) without measuring.
    if only != "trivial" {
        wrk(&status_url, 2, token.expose(), &script)?;
    }
    if only != "status" {
        wrk(&trivial_url, 2, token.expose(), &script)?;
    }

    let mut runs = Vec::new();
    for round in 1..=rounds {
        let status = if only == "trivial" {
            WrkResult::skipped()
        } else {
            wrk(&status_url, seconds, token.expose(), &script)?
        };
        let base = if only == "status" {
            WrkResult::skipped()
        } else {
            wrk(&trivial_url, seconds, token.expose(), &script)?
        };
        eprintln!(
            "round {round}: status {:.0} req/s, trivial {:.0} req/s, load {}",
            status.rps,
            base.rps,
            loadavg()
        );
        runs.push((status, base));
    }

    println!();
    println!(
        "| round | endpoint ({n} mailboxes, {CONNECTIONS} connections, {seconds} s) | requests/s | p50 | p99 | server CPU/request | wrk CPU/request | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (i, (status, base)) in runs.iter().enumerate() {
        for (name, r) in [
            ("GET /v1/mailboxes/{address}", status),
            ("trivial axum handler", base),
        ] {
            println!(
                "| {} | {name} | {:.0} | {} | {} | {:.1} µs | {:.1} µs | {} |",
                i + 1,
                r.rps,
                r.p50,
                r.p99,
                r.cpu_us_per_request,
                r.wrk_cpu_us_per_request,
                r.errors
            );
        }
    }
    println!();
    println!("| round | ratio (req/s) | CPU ratio (trivial/status) | p99 status | goal met |");
    println!("|---|---|---|---|---|");
    let mut all_met = true;
    let mut ratios = Vec::new();
    for (i, (status, base)) in runs.iter().enumerate() {
        let ratio = if base.rps > 0.0 {
            status.rps / base.rps
        } else {
            0.0
        };
        let cpu_ratio = if status.cpu_us_per_request > 0.0 {
            base.cpu_us_per_request / status.cpu_us_per_request
        } else {
            0.0
        };
        let met = ratio >= GOAL_RATIO
            && status.p99_ms.is_some_and(|p| p < GOAL_P99_MS)
            && status.errors == "none";
        all_met &= met;
        ratios.push(ratio);
        println!(
            "| {} | {ratio:.2} | {cpu_ratio:.2} | {} | {} |",
            i + 1,
            status.p99,
            if met { "yes" } else { "no" }
        );
    }
    // Rounds alternate the targets, so a burst of outside load lands on one of them in one
    // round: the mean over rounds says more about the server than any single round.
    let mean = ratios.iter().sum::<f64>() / ratios.len().max(1) as f64;
    println!();
    println!(
        "mean ratio over {} rounds: {mean:.2}; rounds at or over {GOAL_RATIO}: {}",
        ratios.len(),
        ratios.iter().filter(|r| **r >= GOAL_RATIO).count()
    );
    println!(
        "goal (ratio >= {GOAL_RATIO}, p99 < {GOAL_P99_MS} ms, no errors) met in every round: {}; load average {}",
        if all_met { "yes" } else { "no" },
        loadavg()
    );

    trivial_task.abort();
    sandbox.shutdown().await?;
    Ok(())
}

async fn trivial_handler() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

struct WrkResult {
    rps: f64,
    p50: String,
    p99: String,
    p99_ms: Option<f64>,
    cpu_us_per_request: f64,
    /// wrk's own CPU time per request: what the load generator takes from the same two cores.
    wrk_cpu_us_per_request: f64,
    errors: String,
}

impl WrkResult {
    /// A target left out by `PEC_BENCH_ONLY`.
    fn skipped() -> Self {
        Self {
            rps: 0.0,
            p50: "-".into(),
            p99: "-".into(),
            p99_ms: None,
            cpu_us_per_request: 0.0,
            wrk_cpu_us_per_request: 0.0,
            errors: "skipped".into(),
        }
    }
}

fn wrk(
    url: &str,
    seconds: u32,
    token: &str,
    script: &std::path::Path,
) -> anyhow::Result<WrkResult> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
        "-H",
        &format!("Authorization: Bearer {token}"),
        "-s",
    ]);
    cmd.arg(script).arg(url);
    let (cpu_before, wrk_before) = process_cpu_seconds();
    let out = cmd
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run wrk ({e}): apt-get install wrk"))?;
    let (cpu_after, wrk_after) = process_cpu_seconds();
    let (cpu, wrk_cpu) = (cpu_after - cpu_before, wrk_after - wrk_before);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or("?")
            .to_owned()
    };
    let rps: f64 = field("Requests/sec:").parse().unwrap_or(0.0);
    let requests: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    let p99 = field("99%");
    Ok(WrkResult {
        rps,
        p50: field("50%"),
        p99_ms: duration_ms(&p99),
        p99,
        cpu_us_per_request: if requests > 0.0 {
            cpu * 1e6 / requests
        } else {
            0.0
        },
        wrk_cpu_us_per_request: if requests > 0.0 {
            wrk_cpu * 1e6 / requests
        } else {
            0.0
        },
        errors: if errors.is_empty() {
            "none".into()
        } else {
            errors
        },
    })
}

/// wrk's durations: `850.00us`, `5.14ms`, `1.02s`, `2.00m`.
fn duration_ms(s: &str) -> Option<f64> {
    let split = s.find(|c: char| c.is_ascii_alphabetic())?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    match unit {
        "us" => Some(v / 1000.0),
        "ms" => Some(v),
        "s" => Some(v * 1000.0),
        "m" => Some(v * 60_000.0),
        _ => None,
    }
}

/// User + system CPU time of this process (every thread) and of its waited-for children (the
/// wrk runs), in seconds.
fn process_cpu_seconds() -> (f64, f64) {
    let ticks = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .unwrap_or(100.0);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after ')'.
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // cutime and cstime (16 and 17 of the line) follow.
    ((get(11) + get(12)) / ticks, (get(13) + get(14)) / ticks)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "?".into())
}
