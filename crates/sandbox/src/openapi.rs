//! Routing and the OpenAPI document, generated from the handlers' annotations and the wire types
//! of `pec_provider::api`, so the document cannot describe an API the server does not serve.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use pec_provider::api::{
    Health, IDEMPOTENCY_KEY_HEADER, PROBLEM_JSON, Problem, SANDBOX_SECRET_HEADER,
};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::problem::{ApiError, problem_for_plain_errors};
use crate::state::{AppState, Mode};
use crate::{admin, auth, csc, form, identity, mailboxes, methods, registry, renewal};
use tower::util::MapResponseLayer;

/// JSON bodies are small; documents have their own limit in their handler.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "PEC provider API",
        description = "Identity confirmation (PEC europea), two-step login and app passwords for \
                       Italian PEC holders. Errors are application/problem+json with a stable `code` \
                       and `message_it`/`message_en`. Creating POSTs honour `Idempotency-Key`. \
                       Paths under /sandbox exist only on a server in sandbox mode. \
                       Every response carries an HTTP `Date` header (RFC 9110 section 6.6.1) with \
                       the provider's current time, to the second: clients decide what is due \
                       (expiry reminders, link deadlines) by it, not by the device's clock. In \
                       sandbox mode it is the sandbox clock (/sandbox/clock).",
        version = "1.0.0",
        license(name = "EUPL-1.2")
    ),
    modifiers(&Additions),
    components(schemas(Problem)),
    tags(
        (name = "sessions", description = "Sign in, refresh, sign out"),
        (name = "mailboxes", description = "Mailboxes and notifications"),
        (name = "identity", description = "Identity confirmation requests"),
        (name = "methods", description = "Identification methods"),
        (name = "security", description = "Two-step login and app passwords"),
        (name = "registry", description = "A public registry (OAM style): change of the PEC on record, support tickets"),
        (name = "renewal", description = "An association's renewal portal: registration, captcha, orders, payment"),
        (name = "csc", description = "A remote signature service (firma remota): Cloud Signature Consortium API v2 for the test remote-signature accounts"),
        (name = "sandbox", description = "Sandbox-only back office")
    )
)]
struct ApiDoc;

struct Additions;

impl Modify for Additions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The portals' sessions are bearer tokens too, but of other sign-ins: naming them
        // apart says which token each operation takes (and lets a client hold all three).
        for (name, description) in [
            (
                "registry_session",
                "A session of the registry's private area (POST /registry/v1/sessions).",
            ),
            (
                "renewal_session",
                "A session of the renewal portal (POST /renewal/v1/sessions).",
            ),
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(
                    HttpBuilder::new()
                        .scheme(HttpAuthScheme::Bearer)
                        .description(Some(description))
                        .build(),
                ),
            );
        }
        components.add_security_scheme(
            "sandbox_secret",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                SANDBOX_SECRET_HEADER,
                "The per-run secret of a sandbox-mode server (its starter has it).",
            ))),
        );
        // CSC auth/login: the remote-signature account's credentials (HTTP Basic).
        components.add_security_scheme(
            "csc_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// Liveness.
#[utoipa::path(get, path = "/health", tag = "sessions",
    responses((status = 200, description = "Up", body = Health)))]
async fn health(State(st): State<Arc<AppState>>) -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".into(),
        mode: match st.mode {
            Mode::Sandbox => "sandbox".into(),
            Mode::Production => "production".into(),
        },
    })
}

fn api_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(auth::sign_in))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::sign_out))
        .routes(routes!(mailboxes::list))
        .routes(routes!(mailboxes::get))
        .routes(routes!(mailboxes::notifications))
        .routes(routes!(mailboxes::mark_read))
        .routes(routes!(mailboxes::two_step_enrol))
        .routes(routes!(mailboxes::two_step_confirm))
        .routes(routes!(mailboxes::two_step_disable))
        .routes(routes!(
            mailboxes::create_app_password,
            mailboxes::list_app_passwords
        ))
        .routes(routes!(mailboxes::delete_app_password))
        .routes(routes!(identity::create))
        .routes(routes!(identity::get))
        .routes(routes!(identity::act))
        .routes(routes!(identity::upload))
        .routes(routes!(identity::delegation))
        .routes(routes!(methods::card_challenge))
        .routes(routes!(methods::card_response))
        .routes(routes!(methods::spid_start))
        .routes(routes!(methods::spid_poll))
        .routes(routes!(crate::cie::cieid_start))
        .routes(routes!(crate::cie::cieid_poll))
        .routes(routes!(form::get_form))
        .routes(routes!(form::send_signed, form::get_signed))
        .routes(routes!(methods::webcam_slots))
        .routes(routes!(methods::webcam_book))
        .routes(routes!(renewal::mailbox_expiry))
        .routes(routes!(renewal::mailbox_expiries))
        .routes(routes!(registry::sign_in))
        .routes(routes!(registry::registration))
        .routes(routes!(registry::request_change, registry::list_changes))
        .routes(routes!(registry::confirm, registry::confirm_page))
        .routes(routes!(registry::open_ticket))
        .routes(routes!(registry::get_ticket))
        .routes(routes!(registry::attach_document))
        .routes(routes!(renewal::lookup))
        .routes(routes!(renewal::new_captcha))
        .routes(routes!(renewal::captcha_image))
        .routes(routes!(renewal::register))
        .routes(routes!(renewal::verify_email))
        .routes(routes!(renewal::verify_sms))
        .routes(routes!(renewal::skip_sms))
        .routes(routes!(renewal::sign_in))
        .routes(routes!(renewal::mailboxes))
        .routes(routes!(renewal::create_order))
        .routes(routes!(renewal::get_order))
        .routes(routes!(renewal::pay))
        .routes(routes!(csc::info))
        .routes(routes!(csc::login))
        .routes(routes!(csc::credentials_list))
        .routes(routes!(csc::credentials_info))
        .routes(routes!(csc::credentials_authorize))
        .routes(routes!(csc::sign_hash))
}

fn sandbox_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(admin::outbox))
        .routes(routes!(admin::clock))
        .routes(routes!(admin::advance_clock))
        .routes(routes!(admin::checks))
        .routes(routes!(admin::holder_changed))
        .routes(routes!(admin::webcam_decision))
        .routes(routes!(admin::seed_account))
        .routes(routes!(admin::set_clock))
        .routes(routes!(registry::decide_ticket))
        .routes(routes!(renewal::sms_outbox))
        .routes(routes!(renewal::captcha_answer))
        .routes(routes!(renewal::charges))
}

/// The full document (API and sandbox paths) as pretty JSON with a trailing newline.
pub fn document_json() -> String {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, mut doc) = api_routes().merge(sandbox_routes()).split_for_parts();
        add_links(&mut doc);
        add_problem_responses(&mut doc);
        add_sandbox_security(&mut doc);
        let mut value = serde_json::to_value(&doc).unwrap_or_default();
        fix_link_keys(&mut value);
        constrain_idempotency_key(&mut value);
        split_nullable_formats(&mut value);
        narrow_csc_requests(&mut value);
        let mut s = serde_json::to_string_pretty(&value)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    })
    .clone()
}

/// OpenAPI links from the creation of an identity request to the operations on it, so that
/// clients (and schemathesis' stateful phase) can follow `id` from one to the other.
fn add_links(doc: &mut utoipa::openapi::OpenApi) {
    let mut targets = Vec::new();
    for (path, item) in &doc.paths.paths {
        if !path.starts_with("/v1/identity-requests/{id}") || path.contains("{handle}") {
            continue;
        }
        for op in [&item.get, &item.post].into_iter().flatten() {
            if let Some(id) = &op.operation_id {
                targets.push(id.clone());
            }
        }
    }
    let Some(create) = doc
        .paths
        .paths
        .get_mut("/v1/mailboxes/{address}/identity-requests")
        .and_then(|item| item.post.as_mut())
    else {
        return;
    };
    if let Some(RefOr::T(created)) = create.responses.responses.get_mut("201") {
        for target in targets {
            let link = utoipa::openapi::link::LinkBuilder::new()
                .operation_id(target.clone())
                .parameter("id", "$response.body#/id")
                .build();
            created.links.insert(target, RefOr::T(link));
        }
    }
}

/// utoipa 5 writes a Link's fields in snake case (`operation_id`); OpenAPI spells them in
/// camel case, and tools ignore the link otherwise.
fn fix_link_keys(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if let Some(links) = map.get_mut("links").and_then(|l| l.as_object_mut()) {
                for link in links.values_mut() {
                    if let Some(link) = link.as_object_mut() {
                        for (from, to) in [
                            ("operation_id", "operationId"),
                            ("operation_ref", "operationRef"),
                            ("request_body", "requestBody"),
                        ] {
                            if let Some(v) = link.remove(from) {
                                link.insert(to.to_owned(), v);
                            }
                        }
                    }
                }
            }
            for v in map.values_mut() {
                fix_link_keys(v);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fix_link_keys),
        _ => {}
    }
}

/// What [`crate::state::idempotent_redacted`] accepts as an `Idempotency-Key`: 1 to 200
/// visible ASCII characters.
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,200}$";

/// States the key's rule on every operation that takes one, so that a client (or a fuzzer)
/// knows it before the server refuses a key with 400.
fn constrain_idempotency_key(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for op in item.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(|p| p.as_array_mut()) else {
                continue;
            };
            for p in params {
                if p.get("name").and_then(|n| n.as_str()) == Some(IDEMPOTENCY_KEY_HEADER)
                    && let Some(schema) = p.get_mut("schema").and_then(|s| s.as_object_mut())
                {
                    schema.insert("minLength".into(), 1.into());
                    schema.insert("maxLength".into(), 200.into());
                    schema.insert("pattern".into(), IDEMPOTENCY_KEY_PATTERN.into());
                }
            }
        }
    }
}

/// The domain's own string formats (validated by `pec_domain`; a generator for each is in
/// `scripts/rig/api_fuzz_hooks.py`).
const DOMAIN_FORMATS: &[&str] = &[
    "codice-fiscale",
    "partita-iva",
    "tax-code",
    "email-address",
    "mobile-it",
    "card-number",
];

/// An optional field of a domain format comes out of utoipa as `"type": ["string", "null"]`
/// with the format beside it; written as `anyOf` [the formatted string, null] it means the
/// same, and tools that pick a generator by format (schemathesis' coverage phase) find it.
fn split_nullable_formats(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            let nullable_string = map.get("type") == Some(&serde_json::json!(["string", "null"]))
                && map
                    .get("format")
                    .and_then(|f| f.as_str())
                    .is_some_and(|f| DOMAIN_FORMATS.contains(&f));
            if nullable_string {
                let format = map.remove("format").unwrap_or_default();
                map.remove("type");
                map.insert(
                    "anyOf".into(),
                    serde_json::json!([{"type": "string", "format": format}, {"type": "null"}]),
                );
            }
            map.values_mut().for_each(split_nullable_formats);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(split_nullable_formats),
        _ => {}
    }
}

/// A SHA-256 hash in standard base64: 43 characters and one `=`, the last character's two
/// unused bits zero (the decoder refuses anything else).
pub const CSC_HASH_PATTERN: &str = "^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$";

/// The CSC request types are the standard's (the app's client shares them and talks to any
/// CSC service); this service implements a subset, and its own document says which, so that a
/// request the document calls valid is not refused for its shape: one signature per
/// authorisation (`multisign` 1) over one SHA-256 hash given in the request (SCAL 2), an OTP
/// of six digits, sha256WithRSAEncryption (or rsaEncryption with SHA-256 named), at most 16
/// hashes per `signHash`, and the three certificate choices of `credentials/info`. What only
/// the state decides (which credential is the caller's, whether a SAD or an OTP is good) stays
/// a 400 `invalid_request` / `invalid_otp`, as the standard has it.
fn narrow_csc_requests(doc: &mut serde_json::Value) {
    use pec_sign::csc_api::{OID_RSA, OID_SHA256, OID_SHA256_WITH_RSA};
    use serde_json::json;
    let hash = json!({"type": "string", "pattern": CSC_HASH_PATTERN});
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    else {
        return;
    };
    // `properties` replace the schema's own (keeping their descriptions), `required` are added,
    // and `rules` are keywords set on the schema itself (rules between fields).
    let mut narrow =
        |name: &str, required: &[&str], properties: serde_json::Value, rules: serde_json::Value| {
            let Some(schema) = schemas.get_mut(name).and_then(|s| s.as_object_mut()) else {
                return;
            };
            if let Some(rules) = rules.as_object() {
                schema.extend(rules.clone());
            }
            if let (Some(props), Some(new)) = (
                schema.get_mut("properties").and_then(|p| p.as_object_mut()),
                properties.as_object(),
            ) {
                for (key, value) in new {
                    let description = props.get(key).and_then(|p| p.get("description")).cloned();
                    let mut value = value.clone();
                    if let (Some(d), Some(v)) = (description, value.as_object_mut()) {
                        v.insert("description".into(), d);
                    }
                    props.insert(key.clone(), value);
                }
            }
            if let Some(list) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
                for field in required {
                    if !list.iter().any(|r| r == field) {
                        list.push(json!(field));
                    }
                }
            }
        };
    narrow(
        "AuthorizeRequest",
        &["hashes", "hashAlgorithmOID", "authData"],
        json!({
            "numSignatures": {"type": "integer", "minimum": 1, "maximum": 1},
            "hashes": {"type": "array", "items": hash, "minItems": 1, "maxItems": 1},
            "hashAlgorithmOID": {"type": "string", "enum": [OID_SHA256]},
            "authData": {
                "type": "array", "minItems": 1, "maxItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "enum": ["OTP"]},
                        "value": {"type": "string", "pattern": "^[0-9]{6}$"}
                    },
                    "required": ["id", "value"]
                }
            }
        }),
        json!({}),
    );
    narrow(
        "SignHashRequest",
        &[],
        json!({
            "hashes": {"type": "array", "items": hash, "minItems": 1, "maxItems": 16},
            "signAlgo": {"type": "string", "enum": [OID_SHA256_WITH_RSA, OID_RSA]},
            "hashAlgorithmOID": {"type": ["string", "null"], "enum": [OID_SHA256, null]}
        }),
        // rsaEncryption signs a hash whose algorithm the request names.
        json!({
            "if": {"properties": {"signAlgo": {"const": OID_RSA}}, "required": ["signAlgo"]},
            "then": {"properties": {"hashAlgorithmOID": {"type": "string"}},
                     "required": ["hashAlgorithmOID"]}
        }),
    );
    narrow(
        "CredentialInfoRequest",
        &[],
        json!({
            "certificates": {"type": ["string", "null"], "enum": ["none", "single", "chain", null]}
        }),
        json!({}),
    );
}

/// Every operation may answer with a problem; saying so once here keeps the annotations short.
fn add_problem_responses(doc: &mut utoipa::openapi::OpenApi) {
    let problem = ResponseBuilder::new()
        .description("Error (RFC 9457 problem with a stable code and Italian/English messages)")
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build();
    let components = doc.components.get_or_insert_with(Default::default);
    components
        .responses
        .insert("Problem".to_owned(), RefOr::T(problem));
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            for code in [
                "400", "401", "403", "404", "405", "409", "410", "413", "415", "422", "429", "501",
            ] {
                op.responses
                    .responses
                    .entry(code.to_owned())
                    .or_insert_with(|| RefOr::Ref(Ref::from_response_name("Problem")));
            }
        }
    }
}

/// Every `/sandbox/*` operation needs the run's secret ([`crate::guard`]).
fn add_sandbox_security(doc: &mut utoipa::openapi::OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        if !path.starts_with("/sandbox/") {
            continue;
        }
        for op in [&mut item.get, &mut item.post].into_iter().flatten() {
            op.security = Some(vec![SecurityRequirement::new(
                "sandbox_secret",
                Vec::<String>::new(),
            )]);
        }
    }
}

async fn serve_document() -> Response {
    let mut resp = document_json().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn not_found() -> ApiError {
    ApiError::not_found("Risorsa", "Resource")
}

/// With debug logging on, each request is logged with method, route template, status and
/// time: never the URI itself, which may hold a delegation token, nor headers or bodies.
/// Layered only when debug logging is on at start (see [`build_router`]): a `from_fn` layer
/// costs a boxed future and a clone of the inner service on every request.
async fn log_requests(req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".to_owned());
    let started = Instant::now();
    let resp = next.run(req).await;
    tracing::debug!(%method, route, status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64, "request");
    resp
}

/// Sets `Date` to `now` in the IMF-fixdate form HTTP requires (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn with_date(mut resp: Response, now: chrono::DateTime<chrono::Utc>) -> Response {
    let text = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = HeaderValue::from_str(&text) {
        resp.headers_mut().insert(header::DATE, value);
    }
    resp
}

pub(crate) fn build_router(state: Arc<AppState>) -> Router {
    let (mut app, _) = api_routes().split_for_parts();
    if state.mode == Mode::Sandbox {
        let (sandbox, _) = sandbox_routes().split_for_parts();
        let sandbox = sandbox.route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            crate::guard::require_sandbox_secret,
        ));
        // The SPID test identity provider's page plays another party, opened in the user's
        // browser: its unguessable handle (issued to the request's owner) is its credential,
        // not the back-office secret.
        app = app
            .merge(sandbox)
            .route(
                "/sandbox/spid/login/{handle}",
                get(methods::spid_page).post(methods::spid_decide),
            )
            // The CieID test identity provider: the browser page with the QR code, and the
            // page the simulated app opens from it (same handle rule as SPID's).
            .route(
                "/sandbox/cieid/login/{handle}",
                get(crate::cie::cieid_login_page),
            )
            .route(
                "/sandbox/cieid/phone/{handle}",
                get(crate::cie::cieid_phone_page).post(crate::cie::cieid_decide),
            );
    }
    // The guide a phone opens from the app's QR code.
    app = app
        .route("/guida/conferma-identita", get(crate::guide::identity_it))
        .route(
            "/guide/identity-confirmation",
            get(crate::guide::identity_en),
        );
    let app = app
        .route("/openapi.json", get(serve_document))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        // Plain-text errors that axum or tower produce on their own (rejections, unknown
        // routes) become problem JSON. tower's `map_response` is a plain function over the
        // inner future: nothing boxed or cloned per request, unlike axum's `from_fn`.
        .layer(MapResponseLayer::new(problem_for_plain_errors));
    // The provider's time on every answer, as HTTP's `Date` (hyper writes one only when the
    // response has none, from the machine's clock, which the sandbox clock may be ahead of).
    let clock = Arc::clone(&state);
    let app = app.layer(MapResponseLayer::new(move |resp: Response| {
        with_date(resp, clock.now())
    }));
    let app = if tracing::enabled!(tracing::Level::DEBUG) {
        app.layer(axum::middleware::from_fn(log_requests))
    } else {
        app
    };
    let app = match state.allowed_hosts.clone() {
        Some(hosts) => app.layer(crate::guard::HostCheckLayer::new(hosts)),
        None => app,
    };
    app.with_state(state)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use proptest::prelude::*;

    use super::CSC_HASH_PATTERN;

    /// The pattern without its anchors, as proptest's generator takes it.
    fn hash_regex() -> String {
        CSC_HASH_PATTERN
            .trim_start_matches('^')
            .trim_end_matches('$')
            .to_owned()
    }

    proptest! {
        /// Every string the document calls a SHA-256 hash is one to the server's decoder.
        #[test]
        fn what_the_document_calls_a_hash_decodes_as_one(
            s in proptest::string::string_regex(&hash_regex()).expect("regex")
        ) {
            let bytes = B64.decode(&s).expect("decodes");
            prop_assert_eq!(bytes.len(), 32);
        }

        /// And every SHA-256 hash a client encodes is one the document allows.
        #[test]
        fn every_encoded_hash_is_one_the_document_allows(bytes in any::<[u8; 32]>()) {
            let s = B64.encode(bytes);
            let (body, last) = (&s[..42], &s[42..]);
            prop_assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/'));
            let last_char = last.chars().next().expect("43rd character");
            prop_assert!("AEIMQUYcgkosw048".contains(last_char), "{s}");
            prop_assert_eq!(&last[1..], "=");
        }
    }
}
