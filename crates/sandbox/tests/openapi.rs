//! The committed OpenAPI document equals the one the server serves.
//!
//! Regenerate it with `PEC_WRITE_OPENAPI=1 cargo test -p pec-sandbox --test openapi` or
//! `pec-sandbox openapi --write openapi/provider-api.json`.

// A helper outside `#[test]` functions: here a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

/// A sandbox on a free loopback port with a fresh database, and the folder that holds it
/// (removed when dropped: keep it for as long as the sandbox runs).
async fn started() -> (tempfile::TempDir, pec_sandbox::RunningSandbox) {
    let dir = tempfile::tempdir().unwrap();
    let config =
        pec_sandbox::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db.sqlite"));
    let sb = pec_sandbox::Sandbox::start(config).await.unwrap();
    (dir, sb)
}

#[tokio::test]
async fn committed_document_equals_served_document() {
    let (_dir, sb) = started().await;
    let served = pec_provider::Client::new(sb.base_url())
        .unwrap()
        .openapi_document()
        .await
        .unwrap();
    sb.shutdown().await.unwrap();

    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../openapi/provider-api.json");
    if std::env::var_os("PEC_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, &served).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == served,
        "openapi/provider-api.json is stale: regenerate it with PEC_WRITE_OPENAPI=1 cargo test -p pec-sandbox --test openapi"
    );
    let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
}

/// Errors that axum produces on its own (body rejections, unknown routes and methods) leave
/// the server as `application/problem+json` with a stable code, like every error of ours.
#[tokio::test]
async fn framework_errors_are_problem_json() {
    let (_dir, sb) = started().await;
    let base = sb.base_url().to_owned();
    let http = reqwest::Client::new();
    let sessions = format!("{base}/v1/sessions");
    let too_large = format!(
        "{{\"login\":\"{}\",\"password\":\"x\"}}",
        "a".repeat(pec_sandbox::openapi::JSON_BODY_LIMIT)
    );
    let cases = [
        (
            http.post(&sessions)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "request.invalid",
        ),
        (
            http.post(&sessions)
                .header("content-type", "text/plain")
                .body("{}"),
            415,
            "request.unsupported_media_type",
        ),
        (
            http.post(&sessions)
                .header("content-type", "application/json")
                .body(too_large),
            413,
            "request.too_large",
        ),
        (http.delete(&sessions), 405, "request.method_not_allowed"),
        (
            http.get(format!("{base}/v1/nowhere")),
            404,
            "request.not_found",
        ),
    ];
    for (request, status, code) in cases {
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "{code}");
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(content_type, "application/problem+json", "{code}");
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["code"], code);
    }
    sb.shutdown().await.unwrap();
}

/// What the document calls valid the server accepts, and a refusal the state decides has the
/// status that says so (schemathesis with every check runs on this; these are the
/// cases it found, kept as regressions).
#[tokio::test]
async fn the_document_and_the_server_agree() {
    let (_dir, sb) = started().await;
    let base = sb.base_url().to_owned();
    let http = reqwest::Client::new();
    let doc: serde_json::Value =
        serde_json::from_str(&pec_sandbox::openapi::document_json()).unwrap();

    // The idempotency key's rule is in the document, and the server holds to it exactly.
    let tickets = &doc["paths"]["/registry/v1/support/tickets"]["post"]["parameters"];
    let key_schema = tickets
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .map(|p| p["schema"].clone())
        .unwrap();
    assert_eq!(key_schema["pattern"], "^[!-~]{1,200}$");
    let ticket = |description: &str| {
        serde_json::json!({
            "category": "registration", "topic": "services_unavailable",
            "private_area_access": false, "description": description,
        })
    };
    let post_ticket = |key: &'static str, body: serde_json::Value| {
        http.post(format!("{base}/registry/v1/support/tickets"))
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
    };
    let status_code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap();
        (status, body["code"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        status_code(post_ticket("a key", ticket("x")).await.unwrap()).await,
        (400, "idempotency.key_invalid".to_owned()),
        "a space is not a visible character"
    );
    assert_eq!(
        post_ticket("k-1", ticket("the site is down"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        201
    );
    // A questionnaire sent with a topic that does not use it is still checked.
    let mut with_bad_questionnaire = ticket("x");
    with_bad_questionnaire["questionnaire"] = serde_json::json!({
        "reason": " ", "first_name": "A", "last_name": "B", "tax_code": "RSSMRA45C12F205C",
        "phone": "0212345678", "new_pec": "a@pec.example.it",
    });
    assert_eq!(
        status_code(post_ticket("k-2", with_bad_questionnaire).await.unwrap()).await,
        (422, "support.reason_required".to_owned())
    );

    // A captcha that is no more: gone, not a malformed request.
    let r = http
        .get(format!("{base}/renewal/v1/captchas/cap-none/image"))
        .send()
        .await
        .unwrap();
    assert_eq!(status_code(r).await, (410, "captcha.expired".to_owned()));

    // The same key for another request: the key's earlier use conflicts, not the request.
    let sign_in = |login: &'static str| {
        http.post(format!("{base}/v1/sessions"))
            .json(&serde_json::json!({"login": login, "password": "Demo-Password-1"}))
            .send()
    };
    let mario: serde_json::Value = sign_in("acc-demo-mario")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mario = mario["access_token"].as_str().unwrap().to_owned();
    let create = |mailbox: &'static str| {
        http.post(format!("{base}/v1/mailboxes/{mailbox}/identity-requests"))
            .bearer_auth(&mario)
            .header("Idempotency-Key", "k-3")
            .send()
    };
    let first = create("mario.rossi%40pec.sandbox.test").await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(
        status_code(create("studio.rossi%40pec.sandbox.test").await.unwrap()).await,
        (409, "idempotency.key_reused".to_owned())
    );

    // The two-step enrolment's optional body may be null, as the document says.
    let tokens: serde_json::Value = sign_in("acc-demo-acme")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tokens["access_token"].as_str().unwrap().to_owned();
    let r = http
        .post(format!(
            "{base}/v1/mailboxes/amministrazione%40pec.acme-srl.test/two-step/enrolment"
        ))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("null")
        .send()
        .await
        .unwrap();
    assert_ne!(r.status().as_u16(), 422, "null is the document's no-body");
    sb.shutdown().await.unwrap();
}

/// The provider's time is on every answer as `Date` (documented in the API's description),
/// and in sandbox mode it follows the sandbox clock: clients reminding of deadlines read it.
#[tokio::test]
async fn every_answer_dates_itself_by_the_sandbox_clock() {
    let (_dir, sb) = started().await;
    let c = pec_provider::Client::new(sb.base_url()).unwrap();
    c.set_sandbox_secret(sb.sandbox_secret().map(str::to_owned));
    let before = c.fetch_provider_now().await.unwrap();
    assert!((before - chrono::Utc::now()).num_seconds().abs() <= 2);
    c.sandbox_advance_clock(3 * 24 * 3600).await.unwrap();
    let after = c.fetch_provider_now().await.unwrap();
    let moved = (after - before).num_seconds();
    // Dates count whole seconds: one may be lost at each end.
    assert!(
        (3 * 24 * 3600 - 2..3 * 24 * 3600 + 5).contains(&moved),
        "{moved}"
    );
    // An error answer carries it too.
    let resp = reqwest::get(format!("{}/v1/no-such-route", sb.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let date = resp.headers()[reqwest::header::DATE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(date.ends_with(" GMT"), "{date}");
    sb.shutdown().await.unwrap();
}

/// The CSC methods whose fields are all optional take an object, as the document says: serde
/// would read `[]` as an empty request (schemathesis found `credentials/list` answering 200).
#[tokio::test]
async fn csc_bodies_are_objects() {
    use base64::Engine as _;
    let (_dir, sb) = started().await;
    let base = sb.base_url().to_owned();
    let http = reqwest::Client::new();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("firma.chiara:Firma-Password-1")
    );
    let login = |body: &'static str| {
        http.post(format!("{base}/csc/v2/auth/login"))
            .header("Authorization", &basic)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    assert_eq!(login("[]").await.unwrap().status().as_u16(), 400);
    let token: serde_json::Value = login("{}").await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap().to_owned();
    for (method, ok) in [("info", "{}"), ("credentials/list", "{}")] {
        let send = |body: &'static str| {
            http.post(format!("{base}/csc/v2/{method}"))
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
        };
        assert_eq!(send("[]").await.unwrap().status().as_u16(), 400, "{method}");
        assert_eq!(send(ok).await.unwrap().status().as_u16(), 200, "{method}");
    }
    sb.shutdown().await.unwrap();
}
