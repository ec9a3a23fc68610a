//! The first screen (sign-in) through the real window: Italian by default, English on request, and
//! the choice kept across a restart of the app (settings file written by Rust).

use pec_e2e::Rig;

mod common;

#[test]
fn home_is_italian_by_default_switches_to_english_and_remembers_it() {
    let rig = Rig::from_env();
    // Other tests share the app's home: count only this test's starts.
    let starts_before = rig.logs().matches("PEC Desktop started").count();

    // First launch: Italian home screen, and the IPC round trip has filled the footer.
    let app = rig.launch().expect("app window starts");
    // An earlier test file may have left a session in the keyring: the home is the sign-in.
    common::signed_out(&app);
    let title = app
        .wait_for_text("[data-testid=home-title]", "the Italian title", |t| {
            !t.is_empty()
        })
        .unwrap();
    assert_eq!(title, "Benvenuto in PEC Desktop");
    let lang = app
        .execute(
            "return document.documentElement.lang;",
            serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(lang, "it");
    let signin = app.find("[data-testid=signin-title]").unwrap();
    assert_eq!(app.text(&signin).unwrap(), "Accedi");
    let footer = app
        .wait_for_text("footer", "the version from Rust", |t| {
            t.contains(&format!("Versione {}", env!("CARGO_PKG_VERSION")))
        })
        .unwrap();
    assert!(
        footer.contains(&rig.log_dir().display().to_string()),
        "footer shows the log directory: {footer}"
    );
    let italian = app.find("[data-testid=lang-it]").unwrap();
    assert_eq!(
        app.attribute(&italian, "aria-pressed").unwrap().as_deref(),
        Some("true")
    );
    app.screenshot(&rig.screenshot_path("home-it.png")).unwrap();

    // Switch to English: every text changes, and the switch reports its state.
    let english = app.find("[data-testid=lang-en]").unwrap();
    app.click(&english).unwrap();
    app.wait_for_text("[data-testid=home-title]", "the English title", |t| {
        t == "Welcome to PEC Desktop"
    })
    .unwrap();
    let signin = app.find("[data-testid=signin-title]").unwrap();
    assert_eq!(app.text(&signin).unwrap(), "Sign in");
    let lang = app
        .execute(
            "return document.documentElement.lang;",
            serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(lang, "en");
    let english = app.find("[data-testid=lang-en]").unwrap();
    assert_eq!(
        app.attribute(&english, "aria-pressed").unwrap().as_deref(),
        Some("true")
    );
    assert!(
        app.find("[data-testid=error]").is_err(),
        "saving the language must not report an error"
    );
    app.screenshot(&rig.screenshot_path("home-en.png")).unwrap();
    drop(app);

    // Restart: the saved choice is honoured, then put back to Italian for the next run.
    let app = rig.launch().expect("app window starts again");
    app.wait_for_text(
        "[data-testid=home-title]",
        "the remembered English title",
        |t| t == "Welcome to PEC Desktop",
    )
    .unwrap();
    let italian = app.find("[data-testid=lang-it]").unwrap();
    app.click(&italian).unwrap();
    app.wait_for_text("[data-testid=home-title]", "the Italian title again", |t| {
        t == "Benvenuto in PEC Desktop"
    })
    .unwrap();
    drop(app);

    // Rust logged both starts and the language changes to the rolling file, and the footer
    // pointed the user at that same directory.
    let logs = rig.logs();
    assert_eq!(
        logs.matches("PEC Desktop started").count() - starts_before,
        2,
        "log:\n{logs}"
    );
    assert!(logs.contains("language changed"), "log:\n{logs}");
}

/// The opener plugin is built without its click script (security audit I3): a click on a link
/// to a web page is left to the page, which opens nothing outside the window, instead of being
/// taken over and sent to the system browser. With the script, a window listener added after
/// it sees the click already handled (`defaultPrevented`): built with it, this test fails.
#[test]
fn a_link_in_the_page_is_not_handed_to_the_system_browser() {
    let rig = Rig::from_env();
    let app = rig.launch().expect("app window starts");
    // An earlier test file may have left a session in the keyring: the home is the sign-in.
    common::signed_out(&app);
    let seen = app
        .execute(
            r#"
            const seen = { prevented: null, reached: false };
            const link = document.createElement('a');
            link.href = 'https://example.invalid/';
            link.target = '_blank';
            link.textContent = 'link';
            document.body.appendChild(link);
            const last = (e) => {
              seen.reached = true;
              seen.prevented = e.defaultPrevented;
              e.preventDefault();
            };
            window.addEventListener('click', last);
            link.dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 }));
            window.removeEventListener('click', last);
            link.remove();
            return seen;
            "#,
            serde_json::json!([]),
        )
        .unwrap();
    assert_eq!(seen["reached"], true, "{seen}");
    assert_eq!(
        seen["prevented"], false,
        "no script took the click over: {seen}"
    );
}
