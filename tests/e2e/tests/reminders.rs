//! Reminders reach the desktop: a mailbox whose expiry is 30 days away *on the
//! provider's clock* is announced through the OS notification service, once, and listed in the
//! settings screen, whose "Apri" leads to the renewal. On Linux the notification is a D-Bus
//! call to `org.freedesktop.Notifications` on the session bus the test command starts; the
//! test owns that name with a small recorder (standing in for the desktop's notification
//! daemon, which is the OS's part), so what the app sent is what the test reads.

// Helpers outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pec_e2e::Rig;
use serde_json::json;

mod common;
use common::{Sandbox, private_citizen, shot_fit, sign_in, signed_out};

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// The notification server's interface, recording summary and body of each notification.
struct Recorder(Received);

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        _app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, zbus::zvariant::OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut all = self.0.lock().unwrap();
        all.push((summary, body));
        u32::try_from(all.len()).unwrap()
    }

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into(), "actions".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "pec-e2e-recorder".into(),
            "pec".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    fn close_notification(&self, _id: u32) {}
}

/// Puts the sandbox's clock back to the real time when the test ends, however it ends: the
/// next tests share its database.
struct ClockBack<'a>(&'a Sandbox);

impl Drop for ClockBack<'_> {
    fn drop(&mut self) {
        let now = chrono::Utc::now().to_rfc3339();
        let _ = self
            .0
            .http
            .post(format!("{}/sandbox/clock/set", self.0.url))
            .header("Sandbox-Secret", self.0.secret())
            .json(&json!({ "now": now }))
            .send();
    }
}

#[test]
fn a_mailbox_expiring_on_the_providers_clock_is_announced_once_and_opens_the_renewal() {
    let received = Received::default();
    let _daemon = zbus::blocking::connection::Builder::session()
        .unwrap()
        .name("org.freedesktop.Notifications")
        .unwrap()
        .serve_at(
            "/org/freedesktop/Notifications",
            Recorder(Arc::clone(&received)),
        )
        .unwrap()
        .build()
        .expect("the test owns org.freedesktop.Notifications on the rig's session bus");

    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(&rig);
    let (account, address, _) = sandbox.seed(
        "reminder",
        private_citizen("Mario", "Rossi", "RSSMRA45C12F205C"),
    );
    // The mailbox expires 300 days after it was made; the reminder comes 30 days before, by
    // the provider's clock (its answers' Date), not the computer's.
    let _back = ClockBack(&sandbox);
    sandbox.post("/sandbox/clock/advance", json!({ "seconds": 272 * 86_400 }));
    sign_in(&app, &account);

    let limit = Instant::now() + Duration::from_secs(60);
    let reminder = loop {
        let found = received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, body)| body.contains(&address))
            .cloned();
        if let Some(found) = found {
            break found;
        }
        assert!(
            Instant::now() < limit,
            "no notification reached the session bus; got {:?}",
            received.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(reminder.0, "Casella PEC in scadenza");
    assert!(reminder.1.contains("scade il"), "{}", reminder.1);

    // Listed in the settings screen; "Apri" leads to the renewal of that mailbox.
    app.click_when_ready("[data-testid=nav-settings]").unwrap();
    let recent = app
        .wait_for("[data-testid=reminders-recent]")
        .expect("the delivered reminder is listed");
    assert!(app.text(&recent).unwrap().contains(&address));
    shot_fit(&app, &rig, "settings-1-reminders.png");
    app.click_when_ready("[data-testid=reminders-recent] [data-testid=reminder-open]")
        .unwrap();
    app.wait_for("[data-testid=renewal]")
        .expect("the reminder opens the renewal");

    // Once per event: the look after signing in again adds nothing.
    app.click_when_ready("[data-testid=sign-out]").unwrap();
    sign_in(&app, &account);
    std::thread::sleep(Duration::from_secs(5));
    let again = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, body)| body.contains(&address))
        .count();
    assert_eq!(again, 1, "the same reminder came twice");
}
