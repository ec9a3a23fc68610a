//! The committed OpenAPI document equals the one the server serves.
//!
//! Regenerate it with `PEC_WRITE_OPENAPI=1 cargo test -p pec-sandbox --test openapi` or
//! `pec-sandbox openapi --write openapi/provider-api.json`.

use std::path::PathBuf;

#[tokio::test]
async fn committed_document_equals_served_document() {
    let dir = tempfile::tempdir().unwrap();
    let config =
        pec_sandbox::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db.sqlite"));
    let sb = pec_sandbox::Sandbox::start(config).await.unwrap();
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
    let dir = tempfile::tempdir().unwrap();
    let config =
        pec_sandbox::Config::new("127.0.0.1:0".parse().unwrap(), dir.path().join("db.sqlite"));
    let sb = pec_sandbox::Sandbox::start(config).await.unwrap();
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
