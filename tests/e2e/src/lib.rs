//! A small W3C WebDriver client and the rig around it, for driving the real app window.
//!
//! The test command (`scripts/test.sh`) builds the app, starts Xvfb and `tauri-driver`
//! (which starts WebKitWebDriver, which starts our binary), and passes these variables:
//!
//! * `PEC_E2E_DRIVER` — base URL of tauri-driver, e.g. `http://127.0.0.1:4444`;
//! * `PEC_E2E_APP` — path of the built app binary;
//! * `PEC_E2E_SCREENSHOTS` — directory for screenshots (the repo's `target/e2e-screenshots`);
//! * `PEC_E2E_APP_HOME` — the private XDG home the app runs in (`config/`, `data/`, …).
//!
//! We speak the protocol directly (a dozen endpoints) rather than through a WebDriver
//! crate: tauri-driver only understands `tauri:options` inside `alwaysMatch`, and this way
//! every request is visible in one file.

pub mod x11;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key W3C WebDriver uses for element references.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("HTTP error talking to the WebDriver server: {0}")]
    Http(#[from] reqwest::Error),
    #[error("WebDriver error `{error}`: {message}")]
    WebDriver { error: String, message: String },
    #[error("unexpected WebDriver response: {0}")]
    Protocol(String),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// What the test command hands to the tests. Missing variables are a hard failure with a
/// clear message, never a skip: these tests only make sense through the real rig.
pub struct Rig {
    pub driver: String,
    pub app: PathBuf,
    pub screenshots: PathBuf,
    pub app_home: PathBuf,
    /// How many sandbox starts the log held when the app was last launched: the URL of the
    /// running app is in a later line.
    starts_before_launch: std::cell::Cell<usize>,
}

const SANDBOX_STARTED: &str = "embedded sandbox started url=";

impl Rig {
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!(
                    "{name} is not set: end-to-end tests run through the project's test command \
                     (./scripts/test.sh), which builds the app and starts Xvfb and tauri-driver"
                )
            })
        };
        let rig = Self {
            driver: var("PEC_E2E_DRIVER"),
            app: PathBuf::from(var("PEC_E2E_APP")),
            screenshots: PathBuf::from(var("PEC_E2E_SCREENSHOTS")),
            app_home: PathBuf::from(var("PEC_E2E_APP_HOME")),
            starts_before_launch: std::cell::Cell::new(0),
        };
        assert!(
            rig.app.is_file(),
            "PEC_E2E_APP points to {}, which is not a file",
            rig.app.display()
        );
        rig
    }

    /// Launches the app in a new WebDriver session.
    pub fn launch(&self) -> Result<Session> {
        self.starts_before_launch
            .set(self.logs().matches(SANDBOX_STARTED).count());
        Session::start(&self.driver, &self.app)
    }

    pub fn screenshot_path(&self, name: &str) -> PathBuf {
        self.screenshots.join(name)
    }

    /// The app's log directory inside its private XDG data home.
    pub fn log_dir(&self) -> PathBuf {
        self.app_home.join("data/it.pecdesktop.app/logs")
    }

    /// Everything the app has logged so far, all files together.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        if let Ok(entries) = std::fs::read_dir(self.log_dir()) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    all.push_str(&text);
                }
            }
        }
        all
    }
}

impl Rig {
    /// The base URL of the embedded sandbox of the app's last launch, from the app's log
    /// (the app logs it as `embedded sandbox started url=...`). The sandbox starts in the
    /// background while the window opens, so this waits up to 30 s for that line.
    pub fn sandbox_url(&self) -> Option<String> {
        let limit = Instant::now() + Duration::from_secs(30);
        loop {
            let logs = self.logs();
            if logs.matches(SANDBOX_STARTED).count() > self.starts_before_launch.get() {
                let at = logs.rfind(SANDBOX_STARTED)? + SANDBOX_STARTED.len();
                let rest = &logs[at..];
                let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                return Some(rest[..end].trim_matches('"').to_owned());
            }
            if Instant::now() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The embedded sandbox's back-office secret of the app's last launch, from the file the
    /// app writes in its data directory (`crates/app-core/src/session.rs`, `SANDBOX_SECRET_FILE`).
    pub fn sandbox_secret(&self) -> Option<String> {
        let path = self.app_home.join("data/it.pecdesktop.app/sandbox-secret");
        std::fs::read_to_string(path).ok().filter(|s| !s.is_empty())
    }

    /// What the Secret Service holds for the app's session of `account` with the embedded
    /// sandbox, read with `secret-tool` (another client of the same keyring).
    pub fn keyring_session(&self, account: &str) -> Option<String> {
        let out = std::process::Command::new("secret-tool")
            .args([
                "lookup",
                "service",
                "it.pecdesktop.app/session",
                "username",
                &format!("{account} @ embedded-sandbox"),
            ])
            .output()
            .expect("secret-tool runs (Debian package libsecret-tools)");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            .filter(|s| !s.is_empty())
    }
}

/// One running app window. Dropping it ends the session, which closes the app, and waits
/// until the process is gone: the app is single-instance, and a launch while the previous
/// one is still shutting down would only bring that one forward and exit.
pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
}

/// The D-Bus name tauri-plugin-single-instance holds for the app (its identifier).
const SINGLE_INSTANCE_NAME: &str = "it.pecdesktop.app.SingleInstance";

/// Asks the session bus's `method` about the single-instance name; its printed reply.
fn ask_bus(method: &str) -> String {
    std::process::Command::new("dbus-send")
        .args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            &format!("org.freedesktop.DBus.{method}"),
            &format!("string:{SINGLE_INSTANCE_NAME}"),
        ])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}

/// Whether a running app holds the single-instance name on the session bus. Asked rather than
/// looked up in `/proc`: once its window is closed the app's main thread is gone while other
/// threads still hold the bus connection for a moment.
pub fn instance_running() -> bool {
    ask_bus("NameHasOwner").contains("boolean true")
}

/// The process id of the app holding the single-instance name, from the bus.
pub fn instance_pid() -> Option<u32> {
    ask_bus("GetConnectionUnixProcessID")
        .split_whitespace()
        .skip_while(|w| *w != "uint32")
        .nth(1)?
        .parse()
        .ok()
}

/// Waits (up to 15 s) until no instance of the app runs. An instance still there after that
/// (a test that failed with the app stuck) would take every later launch as a second one and
/// fail those tests too: its threads' stacks go to the test's output (gdb, when installed),
/// then it is stopped by its process id.
fn wait_until_gone() {
    let limit = Instant::now() + Duration::from_secs(15);
    while instance_running() && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !instance_running() {
        return;
    }
    let Some(pid) = instance_pid() else { return };
    eprintln!("an app from an earlier test (pid {pid}) is still running after 15 s; its threads:");
    if let Ok(out) = std::process::Command::new("timeout")
        .args([
            "60",
            "gdb",
            "-batch",
            "-p",
            &pid.to_string(),
            "-ex",
            "thread apply all bt",
        ])
        .output()
    {
        eprintln!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let _ = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status();
    let limit = Instant::now() + Duration::from_secs(10);
    while instance_running() && Instant::now() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[derive(Debug, Clone)]
pub struct Element(String);

impl Session {
    pub fn start(driver: &str, application: &Path) -> Result<Self> {
        wait_until_gone();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        // No browserName: WebKitWebDriver rejects the one tauri-driver would forward.
        let body = json!({
            "capabilities": {
                "alwaysMatch": {
                    "tauri:options": { "application": application.display().to_string() }
                }
            }
        });
        let value = send(http.post(format!("{driver}/session")).json(&body))?;
        let id = value
            .get("sessionId")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::Protocol(format!("no sessionId in {value}")))?;
        Ok(Self {
            base: format!("{driver}/session/{id}"),
            http,
        })
    }

    fn get(&self, path: &str) -> Result<Value> {
        send(self.http.get(format!("{}{path}", self.base)))
    }

    fn delete(&self, path: &str) -> Result<Value> {
        send(self.http.delete(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        send(self.http.post(format!("{}{path}", self.base)).json(&body))
    }

    /// Finds the first element matching a CSS selector.
    pub fn find(&self, css: &str) -> Result<Element> {
        let value = self.post("/element", json!({ "using": "css selector", "value": css }))?;
        element_of(&value)
    }

    pub fn text(&self, element: &Element) -> Result<String> {
        as_string(self.get(&format!("/element/{}/text", element.0))?)
    }

    pub fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>> {
        let value = self.get(&format!("/element/{}/attribute/{name}", element.0))?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Types `text` into an input, as keystrokes.
    pub fn type_into(&self, element: &Element, text: &str) -> Result<()> {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )?;
        Ok(())
    }

    /// Clears an input.
    pub fn clear(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/clear", element.0), json!({}))?;
        Ok(())
    }

    /// The current value of an input (its property, not the attribute).
    pub fn value(&self, element: &Element) -> Result<String> {
        let value = self.get(&format!("/element/{}/property/value", element.0))?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until an element matching `css` exists and returns it.
    pub fn wait_for(&self, css: &str) -> Result<Element> {
        let limit = Duration::from_secs(30);
        let start = Instant::now();
        loop {
            if let Ok(element) = self.find(css) {
                return Ok(element);
            }
            if start.elapsed() > limit {
                return Err(Error::Timeout(limit, format!("{css} to appear")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the element matching `css` is there and enabled, then clicks it. A button
    /// the flow keeps disabled for a moment after its step changed (still busy with the last
    /// call) would drop the click without a word, and the test would wait for a step that
    /// never comes.
    pub fn click_when_ready(&self, css: &str) -> Result<()> {
        let limit = Duration::from_secs(30);
        let start = Instant::now();
        loop {
            // Found again each time: a page that re-renders replaces its elements.
            let element = self.wait_for(css)?;
            let enabled = self.get(&format!("/element/{}/enabled", element.0))?;
            if enabled.as_bool().unwrap_or(true) {
                return self.click(&element);
            }
            if start.elapsed() > limit {
                return Err(Error::Timeout(limit, format!("{css} to be enabled")));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, element: &Element) -> Result<()> {
        self.post(&format!("/element/{}/click", element.0), json!({}))?;
        Ok(())
    }

    /// Presses keys as the keyboard would, to whatever has the focus (W3C key actions).
    /// Special keys use WebDriver's code points, e.g. [`keys::TAB`].
    pub fn press(&self, keys: &str) -> Result<()> {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": key.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": key.to_string() }));
        }
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )?;
        self.delete("/actions")?;
        Ok(())
    }

    /// The `data-testid` of the focused element, if it has one.
    pub fn focused_testid(&self) -> Result<Option<String>> {
        let value = self.execute(
            "const e = document.activeElement; return e && e.dataset ? e.dataset.testid || null : null;",
            json!([]),
        )?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Moves the focus with Tab (at most `max` presses) until the element with `testid` has
    /// it, and checks that the focus can be seen there (the `:focus-visible` outline).
    pub fn tab_to(&self, testid: &str, max: usize) -> Result<()> {
        for _ in 0..max {
            self.press(keys::TAB)?;
            if self.focused_testid()?.as_deref() == Some(testid) {
                // One script, so the ring is read on the element that has the focus now.
                let seen = self.execute(
                    "const e = document.activeElement; const s = getComputedStyle(e); \
                     return [e.dataset ? e.dataset.testid || e.id || e.tagName : e.tagName, \
                             e.matches(':focus-visible') && s.outlineStyle !== 'none'];",
                    json!([]),
                )?;
                let now = seen[0].as_str().unwrap_or_default();
                if now != testid {
                    return Err(Error::Protocol(format!(
                        "{testid} had the focus after Tab, then lost it to {now}"
                    )));
                }
                if seen[1] != Value::Bool(true) {
                    return Err(Error::Protocol(format!(
                        "{testid} has the focus but no visible focus ring"
                    )));
                }
                return Ok(());
            }
        }
        Err(Error::Protocol(format!(
            "{testid} not reached with {max} presses of Tab (focus on {:?})",
            self.focused_testid()?
        )))
    }

    /// Runs a script in the page and returns its result.
    pub fn execute(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
    }

    /// Runs an asynchronous script: it gets a callback as its last argument.
    pub fn execute_async(&self, script: &str, args: Value) -> Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args }))
    }

    /// Saves a PNG of the window as it is now.
    ///
    /// WebKitGTK's snapshot returns the last frame it painted, which under Xvfb can be one
    /// change behind the DOM; waiting for two animation frames makes the picture current.
    pub fn screenshot(&self, path: &Path) -> Result<()> {
        self.execute_async(
            "const done = arguments[arguments.length - 1];\n\
             requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            json!([]),
        )?;
        let data = as_string(self.get("/screenshot")?)?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| Error::Protocol(format!("screenshot is not base64: {e}")))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// Waits until the element matching `css` exists and its text satisfies `accept`;
    /// returns that text. Waiting is not a timing assertion: the limit only stops a hung run.
    pub fn wait_for_text(
        &self,
        css: &str,
        what: &str,
        accept: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let limit = Duration::from_secs(30);
        let start = Instant::now();
        let mut last = String::from("<not found>");
        loop {
            if let Ok(element) = self.find(css)
                && let Ok(text) = self.text(&element)
            {
                if accept(&text) {
                    return Ok(text);
                }
                last = text;
            }
            if start.elapsed() > limit {
                return Err(Error::Timeout(
                    limit,
                    format!("{css} to show {what} (last text: {last:?})"),
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Session {
    /// Runs axe-core (from the UI's npm packages) in the window and returns the violations
    /// of impact `serious` or `critical`, as "rule: help (n nodes)" lines. The audit runs
    /// in the real WebKit page, so colour contrast and focus order are those users get.
    pub fn accessibility_problems(&self) -> Result<Vec<String>> {
        let loaded = self.execute("return typeof axe;", json!([]))?;
        if loaded.as_str() != Some("object") {
            let source = std::fs::read_to_string(axe_path())?;
            self.execute(&format!("{source}\nreturn typeof axe;"), json!([]))?;
        }
        let found = self.execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { resultTypes: ['violations'] })\
               .then(r => done(r.violations\
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')\
                 .map(v => v.id + ': ' + v.help + ' (' + v.nodes.length + ' nodes: ' +\
                   v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ') + ')')))\
               .catch(e => done(['axe failed: ' + e]));",
            json!([]),
        )?;
        Ok(found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Audits the current screen and fails with the list of serious or critical problems.
    pub fn assert_accessible(&self, screen: &str) {
        let problems = self
            .accessibility_problems()
            .unwrap_or_else(|e| panic!("axe-core could not run on {screen}: {e}"));
        assert!(
            problems.is_empty(),
            "accessibility problems on {screen}:\n{}",
            problems.join("\n")
        );
    }
}

/// What must be in view on every screen at the default window size: the main
/// actions, the card's verdict and PIN field, and every error or alert.
pub const MUST_BE_IN_VIEW: &str = "button.primary, .spid-button, [role=alert], [role=alertdialog], \
     [data-testid=preflight], [data-testid=cie-preflight], [data-testid=preflight-problems], \
     [data-testid=pin], [data-testid=cie-pin], [data-testid=sig-card-pin], \
     [data-testid=sig-token-pin], [data-testid=card-error], [data-testid=stepper]";

impl Session {
    /// The elements matching `css` that are displayed but not wholly inside the window's
    /// viewport (the window's inner width and height, no scrolling), as "what: rectangle".
    pub fn out_of_view(&self, css: &str) -> Result<Vec<String>> {
        let found = self.execute(
            "const out = [];\
             for (const e of document.querySelectorAll(arguments[0])) {\
               const r = e.getBoundingClientRect();\
               if (r.width === 0 && r.height === 0) continue;\
               if (r.top < 0 || r.left < 0 || r.bottom > window.innerHeight + 0.5 ||\
                   r.right > window.innerWidth + 0.5) {\
                 const name = e.dataset.testid || e.getAttribute('role') || e.className || e.tagName;\
                 out.push(name + ': ' + Math.round(r.left) + ',' + Math.round(r.top) + ' to ' +\
                   Math.round(r.right) + ',' + Math.round(r.bottom) + ' in ' +\
                   window.innerWidth + 'x' + window.innerHeight);\
               }\
             }\
             return out;",
            json!([css]),
        )?;
        Ok(found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Fails unless each element of `css` is inside the viewport with the page at the top and
    /// the point at its centre is its own (or a child's): not covered by a sticky action bar,
    /// a popup or anything else drawn over it.
    pub fn assert_uncovered(&self, screen: &str, css: &[&str]) {
        self.scroll_to_top()
            .unwrap_or_else(|e| panic!("scrolling {screen}: {e}"));
        let covered = self
            .execute(
                "const out = [];\
                 for (const sel of arguments[0]) {\
                   const e = document.querySelector(sel);\
                   if (!e) { out.push(sel + ': missing'); continue; }\
                   const r = e.getBoundingClientRect();\
                   const x = r.left + r.width / 2, y = r.top + r.height / 2;\
                   const at = (x >= 0 && y >= 0 && x < window.innerWidth && y < window.innerHeight)\
                     ? document.elementFromPoint(x, y) : null;\
                   if (!at || !(e === at || e.contains(at))) {\
                     const by = at ? (at.dataset.testid || at.className || at.tagName) : 'the window edge';\
                     out.push(sel + ': under ' + by + ' at ' + Math.round(x) + ',' + Math.round(y));\
                   }\
                 }\
                 return out;",
                json!([css]),
            )
            .unwrap_or_else(|e| panic!("cover check on {screen}: {e}"));
        let covered: Vec<&str> = covered
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert!(
            covered.is_empty(),
            "{screen}: not reachable without scrolling:\n{}",
            covered.join("\n")
        );
    }

    /// Scrolls the page back to the top, as a screen first shows.
    pub fn scroll_to_top(&self) -> Result<()> {
        self.execute(
            "window.scrollTo(0, 0); document.scrollingElement && (document.scrollingElement.scrollTop = 0);",
            json!([]),
        )?;
        Ok(())
    }

    /// Fails unless every element of [`MUST_BE_IN_VIEW`] on the screen is inside the viewport
    /// of a window at the default size (1100×760), with the page scrolled to the top.
    pub fn assert_in_view(&self, screen: &str) {
        let size = self
            .scroll_to_top()
            .and_then(|()| {
                self.execute("return [window.innerWidth, window.innerHeight];", json!([]))
            })
            .unwrap_or_else(|e| panic!("window size on {screen}: {e}"));
        let (w, h) = (
            size[0].as_f64().unwrap_or(0.0),
            size[1].as_f64().unwrap_or(0.0),
        );
        assert!(
            w <= 1100.0 && h <= 760.0 && w >= 1000.0 && h >= 650.0,
            "{screen}: the window is {w}x{h}, not the default 1100x760"
        );
        let out = self
            .out_of_view(MUST_BE_IN_VIEW)
            .unwrap_or_else(|e| panic!("viewport check on {screen}: {e}"));
        assert!(
            out.is_empty(),
            "{screen}: outside the window without scrolling:\n{}",
            out.join("\n")
        );
    }
}

/// axe-core as installed by `npm ci` in `ui/`.
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/node_modules/axe-core/axe.min.js")
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.base).send();
        wait_until_gone();
    }
}

fn send(request: reqwest::blocking::RequestBuilder) -> Result<Value> {
    let response = request.send()?;
    let status = response.status();
    let body: Value = response.json()?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let field = |name: &str| {
        value
            .get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Err(Error::WebDriver {
        error: field("error"),
        message: field("message"),
    })
}

fn element_of(value: &Value) -> Result<Element> {
    value
        .get(ELEMENT_KEY)
        .and_then(Value::as_str)
        .map(|id| Element(id.to_owned()))
        .ok_or_else(|| Error::Protocol(format!("not an element reference: {value}")))
}

fn as_string(value: Value) -> Result<String> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(Error::Protocol(format!("expected a string, got {other}"))),
    }
}

/// WebDriver's code points for special keys (W3C WebDriver, "Keyboard actions").
pub mod keys {
    pub const TAB: &str = "\u{E004}";
    pub const ENTER: &str = "\u{E007}";
    pub const SPACE: &str = " ";
    pub const ARROW_DOWN: &str = "\u{E015}";
}
