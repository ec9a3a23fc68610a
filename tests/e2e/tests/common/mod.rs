//! Helpers shared by the end-to-end test files: the sandbox's test endpoints, signing in,
//! waiting for a wizard step, filling fields, and screenshots with their accessibility audit.

// Each test file uses some of these; a panic here is the failing test's report.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::{SystemTime, UNIX_EPOCH};

use pec_card_sim::SimCard;
use pec_e2e::{Rig, Session};
use serde_json::{Value, json};

pub const PASSWORD: &str = "E2e-Password-1";

/// Mario Rossi's codice fiscale, the holder of the virtual cards' test certificates.
pub const MARIO_CF: &str = "RSSMRA80A01H501U";

/// VERIFY commands the card received (INS 0x20).
pub fn verifies(card: &SimCard) -> usize {
    card.apdu_log().iter().filter(|r| r.ins == 0x20).count()
}

/// The private citizen the wizard's data step is filled with.
pub struct Citizen<'a> {
    pub first: &'a str,
    pub last: &'a str,
    pub cf: &'a str,
    pub email: &'a str,
}

impl<'a> Citizen<'a> {
    /// Mario Rossi, with `email` as his contact.
    pub fn mario(email: &'a str) -> Self {
        Self {
            first: "Mario",
            last: "Rossi",
            cf: MARIO_CF,
            email,
        }
    }
}

/// From "identified" to the e-mailed code sent back: both conditions accepted, the countdown
/// shown, the code from the sandbox's outbox typed and confirmed (each screen photographed).
pub fn terms_and_otp(app: &Session, rig: &Rig, sandbox: &Sandbox, email: &str, shots: &str) {
    at_step(app, "identified");
    shot_fit(app, rig, &format!("{shots}-6-identified.png"));
    app.click_when_ready("[data-testid=proceed]").unwrap();
    at_step(app, "accepting_terms");
    app.click_when_ready("[data-testid=terms-service]").unwrap();
    app.click_when_ready("[data-testid=terms-contract]")
        .unwrap();
    shot_fit(app, rig, &format!("{shots}-7-terms.png"));
    app.click_when_ready("[data-testid=complete-request]")
        .unwrap();
    at_step(app, "otp_sent");
    app.wait_for_text("[data-testid=otp-timer]", "the countdown", |t| {
        t.contains("Il codice scade tra")
    })
    .unwrap();
    shot_fit(app, rig, &format!("{shots}-8-otp.png"));
    let otp = sandbox.latest_otp(email);
    fill(app, "otp", &otp);
    app.click_when_ready("[data-testid=otp-confirm]").unwrap();
}

/// From the mailbox page to the method list, as `who`, holder and private citizen. With
/// `shots`, the role, data, summary and method screens are photographed (and checked to fit)
/// under that prefix.
pub fn to_methods(app: &Session, rig: &Rig, who: &Citizen, shots: Option<&str>) {
    let shot = |n: &str| {
        if let Some(prefix) = shots {
            shot_fit(app, rig, &format!("{prefix}-{n}.png"));
        }
    };
    app.click_when_ready("[data-testid=confirm-identity]")
        .unwrap();
    at_step(app, "choosing_role");
    shot("1-role");
    app.click_when_ready("[data-testid=role-holder]").unwrap();
    app.click_when_ready("[data-testid=role-confirm]").unwrap();
    at_step(app, "choosing_holder_kind");
    app.click_when_ready("[data-testid=kind-private]").unwrap();
    app.click_when_ready("[data-testid=kind-confirm]").unwrap();
    at_step(app, "entering_data");
    fill(app, "f-first_name", who.first);
    fill(app, "f-last_name", who.last);
    fill(app, "f-tax_code", who.cf);
    fill(app, "f-email", who.email);
    shot("2-data");
    app.click_when_ready("[data-testid=data-confirm]").unwrap();
    at_step(app, "summary");
    shot("3-summary");
    app.click_when_ready("[data-testid=summary-proceed]")
        .unwrap();
    at_step(app, "choosing_method");
    shot("4-methods");
}

/// The back-office secret's header (`pec_provider::api::SANDBOX_SECRET_HEADER`).
const SANDBOX_SECRET_HEADER: &str = "Sandbox-Secret";

/// The embedded sandbox of the app's last launch, driven through its back office. The back
/// office answers only with the secret of its run, which the app writes (mode 0600) in its
/// data directory: the tests read it from there, so it is never in an environment variable,
/// a command line or a log.
pub struct Sandbox {
    pub url: String,
    pub http: reqwest::blocking::Client,
    secret: String,
}

impl Sandbox {
    pub fn of(rig: &Rig) -> Self {
        // The app writes the file before it starts the sandbox and logs the URL after.
        let url = rig.sandbox_url().expect("the app logged its sandbox URL");
        Self {
            url,
            http: reqwest::blocking::Client::new(),
            secret: rig
                .sandbox_secret()
                .expect("the app wrote its sandbox secret"),
        }
    }

    /// The back office's secret, for a test that sends its own request.
    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn post(&self, path: &str, body: Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .header(SANDBOX_SECRET_HEADER, &self.secret)
            .json(&body)
            .send()
            .expect("the sandbox answers");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().unwrap_or(Value::Null)
    }

    pub fn get(&self, path: &str, query: &[(&str, &str)], bearer: Option<&str>) -> Value {
        let mut req = self
            .http
            .get(format!("{}{path}", self.url))
            .header(SANDBOX_SECRET_HEADER, &self.secret)
            .query(query);
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let r = req.send().expect("the sandbox answers");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        r.json().unwrap()
    }

    /// The newest six-digit code among `messages` (each with `id` and `body`).
    pub fn latest_code(messages: &Value) -> Option<String> {
        let mut all = messages.as_array().cloned().unwrap_or_default();
        all.sort_by_key(|m| m["id"].as_i64());
        all.iter()
            .rev()
            .find_map(|m| six_digits(m["body"].as_str().unwrap_or_default()))
    }

    /// A fresh account with one mailbox; returns (account id, mailbox address, contact e-mail).
    pub fn seed(&self, tag: &str, holder: Value) -> (String, String, String) {
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let address = format!("{tag}-{n}@pec.sandbox.test");
        let email = format!("{tag}-{n}@example.com");
        let account = self.post(
            "/sandbox/accounts",
            json!({
                "password": PASSWORD,
                "mailboxes": [{ "address": address, "holder": holder, "contact": { "email": email } }]
            }),
        );
        let id = account["account_id"].as_str().unwrap().to_owned();
        (id, address, email)
    }

    /// The newest six-digit code e-mailed to `to`.
    pub fn latest_otp(&self, to: &str) -> String {
        let mut all = self.outbox_to(to);
        all.sort_by_key(|m| m["id"].as_i64());
        all.iter()
            .rev()
            .find_map(|m| six_digits(m["body"].as_str().unwrap_or_default()))
            .expect("an OTP e-mail in the outbox")
    }

    pub fn outbox_to(&self, to: &str) -> Vec<Value> {
        let messages: Value = self
            .http
            .get(format!("{}/sandbox/outbox", self.url))
            .header(SANDBOX_SECRET_HEADER, &self.secret)
            .query(&[("to", to)])
            .send()
            .unwrap()
            .json()
            .unwrap();
        messages.as_array().cloned().unwrap_or_default()
    }
}

/// A screenshot of the current screen, and its accessibility audit.
/// A screenshot of the screen as it is, with no serious or critical axe-core violation; what
/// of the main action, verdicts and errors is outside the 1100×760 window without scrolling
/// goes to `out-of-view.txt` beside the screenshots (screens not yet made to fit).
pub fn shot(app: &Session, rig: &Rig, name: &str) {
    app.scroll_to_top().unwrap();
    app.screenshot(&rig.screenshot_path(name)).unwrap();
    let out = app
        .out_of_view(pec_e2e::MUST_BE_IN_VIEW)
        .unwrap_or_default();
    if !out.is_empty() {
        use std::io::Write;
        let line = format!("{name}: {}\n", out.join("; "));
        eprint!("out of view: {line}");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(rig.screenshot_path("out-of-view.txt"))
        {
            let _ = f.write_all(line.as_bytes());
        }
    }
    app.assert_accessible(name);
}

/// [`shot`], and the screen's main action, verdicts and errors must be inside the window
/// at 1100×760 without scrolling: for the screens made to fit.
pub fn shot_fit(app: &Session, rig: &Rig, name: &str) {
    app.scroll_to_top().unwrap();
    app.screenshot(&rig.screenshot_path(name)).unwrap();
    app.assert_in_view(name);
    app.assert_accessible(name);
}

pub fn six_digits(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let w = &b[i..i + 6];
        let before = i.checked_sub(1).map(|j| b[j]);
        let after = b.get(i + 6);
        (w.iter().all(u8::is_ascii_digit)
            && !before.is_some_and(|c| c.is_ascii_digit())
            && !after.is_some_and(u8::is_ascii_digit))
        .then(|| String::from_utf8_lossy(w).into_owned())
    })
}

pub fn private_citizen(first: &str, last: &str, cf: &str) -> Value {
    json!({ "kind": "private_citizen", "first_name": first, "last_name": last, "tax_code": cf })
}

/// Launches the app and signs in to a freshly seeded account with one mailbox of `holder`:
/// returns the window, the sandbox, and the account id, mailbox address and contact e-mail.
pub fn start(rig: &Rig, tag: &str, holder: Value) -> (Session, Sandbox, String, String, String) {
    let app = rig.launch().expect("app window starts");
    signed_out(&app);
    let sandbox = Sandbox::of(rig);
    let (account, address, email) = sandbox.seed(tag, holder);
    sign_in(&app, &account);
    (app, sandbox, account, address, email)
}

/// Waits for the first screen; signs out if the keyring brought back an earlier test's session.
pub fn signed_out(app: &Session) {
    let limit = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if app.find("[data-testid=signin-title]").is_ok() {
            return;
        }
        if app.find("[data-testid=sign-out]").is_ok() {
            app.click_when_ready("[data-testid=sign-out]").unwrap();
            app.wait_for("[data-testid=signin-title]")
                .unwrap_or_else(|e| panic!("{e:?}; the screen says: {}", screen_text(app)));
            return;
        }
        assert!(
            std::time::Instant::now() < limit,
            "neither sign-in nor shell appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// What the window shows, for a failure's report.
pub fn screen_text(app: &Session) -> String {
    app.find("body")
        .and_then(|body| app.text(&body))
        .unwrap_or_default()
}

pub fn sign_in(app: &Session, account: &str) {
    app.wait_for("[data-testid=login]").unwrap();
    let login = app.find("[data-testid=login]").unwrap();
    app.clear(&login).unwrap();
    app.type_into(&login, account).unwrap();
    let password = app.find("[data-testid=password]").unwrap();
    app.type_into(&password, PASSWORD).unwrap();
    app.click_when_ready("[data-testid=signin-submit]").unwrap();
    app.wait_for("[data-testid=mailbox-title]").unwrap();
}

/// Waits until the screen `screen` (its container's `data-testid`) shows `step` in its
/// `data-step`; on a timeout the failure quotes the screen's error alert (`<screen>-error`).
pub fn screen_step(app: &Session, screen: &str, step: &str, wait: std::time::Duration) {
    let limit = std::time::Instant::now() + wait;
    loop {
        if let Ok(w) = app.find(&format!("[data-testid={screen}]"))
            && app.attribute(&w, "data-step").unwrap().as_deref() == Some(step)
        {
            return;
        }
        if std::time::Instant::now() > limit {
            let error = app
                .execute(
                    "return [...document.querySelectorAll('[role=alert]')].map(e => e.innerText).join(' | ');",
                    json!([]),
                )
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            // The screen as it was, for the report.
            if let Ok(dir) = std::env::var("PEC_E2E_SCREENSHOTS") {
                let _ = app.screenshot(
                    &std::path::Path::new(&dir).join(format!("FAILED-{screen}-{step}.png")),
                );
            }
            panic!("the {screen} screen did not reach {step} (error shown: {error:?})");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The identity wizard's step.
pub fn at_step(app: &Session, step: &str) {
    screen_step(app, "wizard", step, std::time::Duration::from_secs(30));
}

pub fn fill(app: &Session, testid: &str, text: &str) {
    let field = app.wait_for(&format!("[data-testid={testid}]")).unwrap();
    app.clear(&field).unwrap();
    app.type_into(&field, text).unwrap();
}

/// What the rig's X clipboard holds now, read by `xclip` (another X client, as a paste in
/// another program would be); empty when nobody owns it.
pub fn x_clipboard() -> String {
    let out = std::process::Command::new("xclip")
        .args(["-o", "-selection", "clipboard"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("xclip runs (scripts/setup.sh installs it)");
    if out.status.success() {
        String::from_utf8_lossy(&out.stdout).into_owned()
    } else {
        String::new()
    }
}

/// Puts `text` in the rig's X clipboard, as copying in another program would. xclip stays in
/// the background to serve it until the X server goes; it must not inherit the test's output,
/// or the test command's pipe through `tee` would wait for it.
pub fn x_copy(text: &str) {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = std::process::Command::new("xclip")
        .args(["-i", "-selection", "clipboard"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("xclip runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
}

/// The app password on screen, copied with its button: the real X clipboard holds it at once,
/// and no longer once the rig's wipe delay (5 s, `PEC_CLIPBOARD_SECRET_SECS`) has passed. A
/// second copy followed by the user copying something else: that is left alone.
pub fn app_password_copy_is_wiped(app: &Session, rig: &Rig, password: &str) {
    use std::time::{Duration, Instant};
    app.click_when_ready("[data-testid=copy-app-password]")
        .unwrap();
    app.wait_for_text(
        "[data-testid=copy-app-password-status]",
        "the copy confirmation",
        |t| !t.is_empty(),
    )
    .unwrap();
    assert_eq!(
        x_clipboard(),
        password,
        "the X clipboard holds the app password"
    );
    shot(app, rig, "desktop-copy-app-password.png");
    let limit = Instant::now() + Duration::from_secs(20);
    while x_clipboard() == password {
        assert!(
            Instant::now() < limit,
            "the app password was not wiped; the app's log on the clipboard: {:?}",
            rig.logs()
                .lines()
                .filter(|l| l.contains("clipboard"))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    app.click_when_ready("[data-testid=copy-app-password]")
        .unwrap();
    let limit = Instant::now() + Duration::from_secs(10);
    while x_clipboard() != password {
        assert!(Instant::now() < limit, "the second copy did not arrive");
        std::thread::sleep(Duration::from_millis(100));
    }
    x_copy("testo copiato da un altro programma");
    // Past the second copy's wipe delay.
    std::thread::sleep(Duration::from_secs(7));
    assert_eq!(
        x_clipboard(),
        "testo copiato da un altro programma",
        "what the user copied since is left alone"
    );
}
