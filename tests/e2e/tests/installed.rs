//! Smoke test of an installed `.deb`: the binary that `dpkg` put into a throwaway root,
//! started through tauri-driver under Xvfb, shows the product name, provider and language
//! its package promises, and signs in to that provider.
//!
//! Run by `scripts/bundle-test.sh` once per package (plain and branded), with the usual rig
//! variables (see `pec_e2e::Rig`) plus what to expect:
//!
//! * `PEC_E2E_EXPECT_PRODUCT` — the product name (`PEC Desktop`, `PEC Artigiani Demo`);
//! * `PEC_E2E_EXPECT_LANG` — the language of a first start, `it` or `en`;
//! * `PEC_E2E_EXPECT_PROVIDER` — `embedded`, or the preset provider's base URL;
//! * `PEC_E2E_EXPECT_ASSOCIATION` — the association's name; unset for the plain package;
//! * `PEC_E2E_PASSWORD` — the demo password, to sign in through the form to a preset provider;
//! * `PEC_E2E_LABEL` — names the screenshots.

use pec_e2e::{Rig, Session};
use serde_json::json;

const MARIO: &str = "acc-demo-mario";

struct Expect {
    product: String,
    italian: bool,
    provider: Option<String>,
    association: Option<String>,
    password: Option<String>,
    label: String,
}

impl Expect {
    fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("{name} is not set: this test runs through scripts/bundle-test.sh")
            })
        };
        let lang = var("PEC_E2E_EXPECT_LANG");
        assert!(lang == "it" || lang == "en", "PEC_E2E_EXPECT_LANG={lang}");
        let provider = var("PEC_E2E_EXPECT_PROVIDER");
        Self {
            product: var("PEC_E2E_EXPECT_PRODUCT"),
            italian: lang == "it",
            provider: (provider != "embedded").then_some(provider),
            association: std::env::var("PEC_E2E_EXPECT_ASSOCIATION").ok(),
            password: std::env::var("PEC_E2E_PASSWORD").ok(),
            label: var("PEC_E2E_LABEL"),
        }
    }

    fn pick<'a>(&self, it: &'a str, en: &'a str) -> &'a str {
        if self.italian { it } else { en }
    }
}

#[test]
fn the_installed_package_shows_its_name_provider_and_language_and_signs_in() {
    let rig = Rig::from_env();
    let expect = Expect::from_env();
    let app = rig.launch().expect("the installed app starts");
    let shot = |app: &Session, name: &str| {
        app.screenshot(&rig.screenshot_path(&format!("installed-{}-{name}.png", expect.label)))
            .unwrap();
    };

    // Language of a first start.
    app.wait_for_text("[data-testid=signin-title]", "the sign-in form", |t| {
        t == expect.pick("Accedi", "Sign in")
    })
    .expect("the sign-in screen in the package's first language");
    let lang = app
        .execute("return document.documentElement.lang;", json!([]))
        .unwrap();
    assert_eq!(lang, json!(expect.pick("it", "en")));

    // Product name: in the window and as the document title.
    app.wait_for_text("[data-testid=product-name]", "the product name", |t| {
        t == expect.product
    })
    .expect("the product name in the top bar");
    let title = app.execute("return document.title;", json!([])).unwrap();
    assert_eq!(title, json!(expect.product));

    // Provider: the embedded sandbox, or the preset one.
    let provider = app
        .text(&app.find("[data-testid=provider]").unwrap())
        .unwrap();
    match &expect.provider {
        None => assert!(
            provider
                .contains(expect.pick("fornitore di prova integrato", "built-in test provider")),
            "{provider}"
        ),
        Some(url) => assert!(
            provider.contains(url.as_str()),
            "{provider} should name {url}"
        ),
    }

    // The association and its support contacts, only in a branded package.
    match &expect.association {
        Some(name) => {
            let shown = app
                .wait_for_text("[data-testid=brand-name]", "the association", |t| {
                    t.contains(name.as_str())
                })
                .unwrap();
            assert!(
                shown.starts_with(expect.pick("Offerto da", "Provided by")),
                "{shown}"
            );
            app.find("[data-testid=brand-phone]")
                .expect("the support phone");
        }
        None => assert!(
            app.find("[data-testid=brand-footer]").is_err(),
            "the plain package names no association"
        ),
    }
    shot(&app, "signin");

    // Sign in to that provider.
    match &expect.provider {
        None => app
            .click_when_ready(&format!("[data-testid=demo-{MARIO}]"))
            .unwrap(),
        Some(_) => {
            let password = expect
                .password
                .as_deref()
                .expect("PEC_E2E_PASSWORD for a preset provider");
            let login = app.wait_for("[data-testid=login]").unwrap();
            app.type_into(&login, MARIO).unwrap();
            let field = app.find("[data-testid=password]").unwrap();
            app.type_into(&field, password).unwrap();
            app.click_when_ready("[data-testid=signin-submit]").unwrap();
        }
    }
    app.wait_for_text("[data-testid=overview-title]", "the overview", |t| {
        t == expect.pick("Panoramica delle caselle", "Mailbox overview")
    })
    .expect("signed in: the mailbox overview");
    app.wait_for("[data-testid='mailbox-mario.rossi@pec.sandbox.test']")
        .expect("the account's mailboxes, from the provider");
    shot(&app, "signed-in");

    let logs = rig.logs();
    match &expect.provider {
        None => assert!(logs.contains("embedded sandbox started"), "{logs}"),
        Some(url) => {
            assert!(logs.contains("branding loaded"), "{logs}");
            assert!(logs.contains("provider configured"), "{logs}");
            assert!(logs.contains(url.as_str()), "{logs}");
        }
    }
}
