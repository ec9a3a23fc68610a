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
