//! One instance: a second launch of the app, while its window is open, exits at
//! once and brings the first window forward instead of opening a second one that would share
//! the keyring session, the drafts and the backup folders. The second launch is the real
//! binary with the same private home, D-Bus session and display as the first.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pec_e2e::Rig;

mod common;
use common::signed_out;

const BROUGHT_FORWARD: &str = "second launch: the open window is brought forward";

#[test]
fn a_second_launch_exits_and_brings_the_first_window_forward() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let before = rig.logs().matches(BROUGHT_FORWARD).count();

    let home = &rig.app_home;
    let mut second = Command::new(&rig.app)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("second launch");
    let limit = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > limit {
            let _ = second.kill();
            panic!("the second launch is still running: it opened a second window");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "the second launch exits cleanly: {status}"
    );

    // The first instance heard of it and brought its window forward; it still answers.
    let limit = Instant::now() + Duration::from_secs(10);
    while rig.logs().matches(BROUGHT_FORWARD).count() == before {
        assert!(Instant::now() < limit, "the first window was not told");
        std::thread::sleep(Duration::from_millis(100));
    }
    app.wait_for("[data-testid=signin-title]")
        .expect("the first window still answers");
}
