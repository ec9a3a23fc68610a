//! `application/problem+json` errors with a stable code and an Italian and English message.
//!
//! Every error the server returns goes through [`ApiError`], including axum's own rejections
//! (malformed JSON, unknown route...), which [`problem_for_plain_errors`] rewrites, so a client
//! never has to parse anything but a [`Problem`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pec_domain::{DomainError, Localized};
use pec_provider::api::{PROBLEM_JSON, Problem};

/// An error on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Code and messages.
    pub localized: Localized,
    /// For rate limits and lock-outs.
    pub retry_after: Option<u64>,
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    /// An error with a code and both messages.
    pub fn new(status: StatusCode, code: &str, it: &str, en: &str) -> Self {
        Self {
            status,
            localized: Localized {
                code: code.to_owned(),
                message_it: it.to_owned(),
                message_en: en.to_owned(),
            },
            retry_after: None,
        }
    }

    /// Adds a `Retry-After`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// A validation error from the domain (422), keeping its code.
    pub fn invalid(localized: Localized) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            localized,
            retry_after: None,
        }
    }

    /// A domain error with a chosen status.
    pub fn domain(status: StatusCode, e: &impl DomainError) -> Self {
        Self {
            status,
            localized: e.to_localized(),
            retry_after: None,
        }
    }

    /// 404 for a resource the caller cannot see (missing or someone else's: same answer, so ids
    /// cannot be probed).
    pub fn not_found(what_it: &str, what_en: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "request.not_found",
            &format!("{what_it} inesistente."),
            &format!("{what_en} not found."),
        )
    }

    /// 401 for a missing, unknown or expired token.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "auth.unauthorized",
            "Sessione assente o scaduta: accedi di nuovo.",
            "No session or session expired: sign in again.",
        )
    }

    /// 500 without details: the cause goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server.internal",
            "Errore interno del server.",
            "Internal server error.",
        )
    }

    /// The body.
    pub fn to_problem(&self) -> Problem {
        Problem {
            type_uri: format!("urn:pec:problem:{}", self.localized.code),
            title: self.localized.message_en.clone(),
            status: self.status.as_u16(),
            code: self.localized.code.clone(),
            message_it: self.localized.message_it.clone(),
            message_en: self.localized.message_en.clone(),
            retry_after: self.retry_after,
        }
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(&e)
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(e: serde_json::Error) -> Self {
        Self::internal(&e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.to_problem()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(s) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}

/// Rewrites error responses that axum or tower produced on their own (plain text) as problems.
pub fn problem_for_plain_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == PROBLEM_JSON.as_bytes());
    if is_problem {
        return resp;
    }
    let (code, it, en) = match status {
        StatusCode::NOT_FOUND => (
            "request.not_found",
            "Risorsa non trovata.",
            "Resource not found.",
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            "request.method_not_allowed",
            "Metodo non consentito.",
            "Method not allowed.",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "request.too_large",
            "Richiesta troppo grande.",
            "Request body too large.",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "request.unsupported_media_type",
            "Tipo di contenuto non supportato: usa application/json.",
            "Unsupported content type: use application/json.",
        ),
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => (
            "request.invalid",
            "Richiesta non valida: controlla i campi inviati.",
            "Invalid request: check the fields sent.",
        ),
        s if s.is_server_error() => (
            "server.internal",
            "Errore interno del server.",
            "Internal server error.",
        ),
        _ => (
            "request.error",
            "Richiesta non riuscita.",
            "Request failed.",
        ),
    };
    // The original status is kept: only the body changes.
    let mut e = ApiError::new(status, code, it, en);
    if let Some(v) = resp
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
    {
        e = e.retry_after(v);
    }
    e.into_response()
}
