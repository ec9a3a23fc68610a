//! One instance: a second launch of the app, while its window is open, exits at
//! once and brings the first window forward instead of opening a second one that would share
//! the keyring session, the drafts and the backup folders. The second launch is the real
//! binary with the same private home, D-Bus session and display as the first.
//!
//! And at close: the window is closed as a window manager closes it (x11.rs). Without the
//! tray, the app gives up being the instance at once, so a launch right after opens its own
//! window rather than handing itself to one going away; with the tray, closing only hides the
//! window, the start at login (autostart) leaves it hidden, and a launch by the user brings it
//! back.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use pec_e2e::x11::Display;
use pec_e2e::{Rig, instance_pid};

mod common;
use common::signed_out;

const BROUGHT_FORWARD: &str = "second launch: the open window is brought forward";
const STAYS: &str = "second launch at login: the app already runs, its window stays as it is";
/// The argument the autostart entry starts the app with (src-tauri/src/reminders.rs).
const AUTOSTART_ARG: &str = "--autostart";

#[test]
fn a_second_launch_exits_and_brings_the_first_window_forward() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let before = rig.logs().matches(BROUGHT_FORWARD).count();

    let status = hand_over(&rig, &[], "the second launch");
    assert!(
        status.success(),
        "the second launch exits cleanly: {status}"
    );

    // The first instance heard of it and brought its window forward; it still answers.
    assert!(
        within(10, || rig.logs().matches(BROUGHT_FORWARD).count() > before),
        "the first window was not told"
    );
    app.wait_for("[data-testid=signin-title]")
        .expect("the first window still answers");
}

/// The app started as a desktop launcher starts it (not through WebDriver), with the rig's
/// private home, session bus and display.
fn launch_directly(rig: &Rig) -> Child {
    launch_directly_with(rig, &[])
}

fn launch_directly_with(rig: &Rig, args: &[&str]) -> Child {
    let home = &rig.app_home;
    Command::new(&rig.app)
        .args(args)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("LIBGL_ALWAYS_SOFTWARE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("launch")
}

/// Launches the app with `args` beside the running one, and waits (up to 30 s) for it to hand
/// itself over and exit; its exit status. Still running, it opened a second app: the test
/// fails, naming the launch as `what`.
fn hand_over(rig: &Rig, args: &[&str], what: &str) -> ExitStatus {
    let mut launch = launch_directly_with(rig, args);
    let mut status = None;
    within(30, || {
        status = launch.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap_or_else(|| {
        let _ = launch.kill();
        panic!("{what} is still running: it opened a second app beside the running one")
    })
}

/// The running app's process id, and its window on the rig's display.
fn running_window() -> (u32, Display, u32) {
    let pid = instance_pid().expect("the app holds the single-instance name");
    let display = Display::open().unwrap();
    let window = display
        .app_window(pid)
        .unwrap()
        .expect("the app's window is on the display");
    (pid, display, window)
}

/// Polls `done` every 50 ms for up to `seconds`; whether it came true.
fn within(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let limit = Instant::now() + Duration::from_secs(seconds);
    loop {
        if done() {
            return true;
        }
        if Instant::now() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn closing_the_window_lets_a_launch_right_after_open_its_own() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let (first, display, window) = running_window();

    // The user closes the window and, at once, starts the app again (a double click on the
    // launcher): no wait between the two.
    display.close(window).unwrap();
    let mut next = launch_directly(&rig);

    assert!(
        within(20, || !alive(first)),
        "the closed app is still running 20 s after its window was closed"
    );
    let took_over = within(30, || instance_pid() == Some(next.id()));
    let exited = next.try_wait().unwrap();
    if !took_over || exited.is_some() {
        let _ = next.kill();
        panic!(
            "the launch right after the close did not open its own window (it exited: {exited:?}): \
             it handed itself to the window going away"
        );
    }
    let shown = within(30, || {
        display
            .app_window(next.id())
            .ok()
            .flatten()
            .is_some_and(|w| display.shown(w).unwrap_or(false))
    });
    let _ = next.kill();
    let _ = next.wait();
    assert!(
        shown,
        "the new launch holds the instance but shows no window"
    );
    drop(app);
}

#[test]
fn with_the_tray_closing_hides_the_window_and_a_launch_brings_it_back() {
    let rig = Rig::from_env();
    let settings = rig.app_home.join("config/it.pecdesktop.app/settings.json");
    set_tray(&settings, true);
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    assert!(
        within(30, || rig.logs().contains("tray icon shown")),
        "the tray icon was not created"
    );
    let (pid, display, window) = running_window();
    assert!(display.shown(window).unwrap());

    display.close(window).unwrap();
    assert!(
        within(10, || !display.shown(window).unwrap_or(true)),
        "closing the window with the tray on did not hide it"
    );
    // Still running, still the instance: the reminders keep coming.
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        alive(pid),
        "closing the window with the tray on ended the app"
    );
    assert_eq!(instance_pid(), Some(pid));

    // The start at login, while the app already runs, leaves the window where it is.
    hand_over(&rig, &[AUTOSTART_ARG], "the start at login");
    assert!(
        within(10, || rig.logs().contains(STAYS)),
        "the running app was not told of the start at login"
    );
    assert!(
        !display.shown(window).unwrap(),
        "the start at login brought the hidden window forward"
    );

    // A launch by the user brings it back.
    let before = rig.logs().matches(BROUGHT_FORWARD).count();
    hand_over(&rig, &[], "the launch");
    assert!(
        within(10, || rig.logs().matches(BROUGHT_FORWARD).count() > before),
        "the hidden app was not told of the launch"
    );
    assert!(
        within(10, || display.shown(window).unwrap_or(false)),
        "the launch did not bring the hidden window back"
    );
    app.wait_for("[data-testid=signin-title]")
        .expect("the window shown again answers");

    drop(app);
    // The next test starts without the tray, as a new user does.
    set_tray(&settings, false);
}

/// Turns the tray on or off in the settings file (as the settings screen saves it), while
/// no app runs.
fn set_tray(settings: &PathBuf, on: bool) {
    let mut json: serde_json::Value = std::fs::read_to_string(settings)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    json["reminders"]["tray"] = serde_json::Value::Bool(on);
    std::fs::create_dir_all(settings.parent().unwrap()).unwrap();
    std::fs::write(settings, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}
