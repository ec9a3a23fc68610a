//! Guards in front of the handlers: the `Host` check against DNS rebinding and the sandbox
//! back office's per-run secret.
//!
//! The embedded sandbox listens on loopback. Without these, any local process could drive its
//! back office (read the outbox with its OTPs, move the clock, seed accounts, decide operator
//! checks), and so could a web page: a page whose own name is made to resolve to 127.0.0.1
//! (DNS rebinding) talks to the server as same-origin, sending its own name as `Host`.

use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::future::Either;
use pec_provider::api::SANDBOX_SECRET_HEADER;
use tower::{Layer, Service};

use crate::problem::ApiError;
use crate::state::{AppState, ct_eq};

/// Refuses requests whose `Host` (or HTTP/2 authority) is not one of `allowed`.
#[derive(Clone)]
pub(crate) struct HostCheckLayer {
    allowed: Arc<[String]>,
}

impl HostCheckLayer {
    pub(crate) fn new(allowed: Arc<[String]>) -> Self {
        Self { allowed }
    }
}

impl<S> Layer<S> for HostCheckLayer {
    type Service = HostCheck<S>;

    fn layer(&self, inner: S) -> Self::Service {
        HostCheck {
            inner,
            allowed: Arc::clone(&self.allowed),
        }
    }
}

/// The service of [`HostCheckLayer`]: a plain wrapper, no boxed future per request (the status
/// read is on the hot path of the benchmark).
#[derive(Clone)]
pub(crate) struct HostCheck<S> {
    inner: S,
    allowed: Arc<[String]>,
}

impl<S> Service<Request> for HostCheck<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, std::future::Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let authority = req.uri().authority().map(|a| a.as_str().to_owned());
        let host = authority.or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        });
        let ok = host.is_some_and(|h| {
            let name = crate::host_name(h.trim()).to_ascii_lowercase();
            self.allowed.contains(&name)
        });
        if ok {
            Either::Left(self.inner.call(req))
        } else {
            tracing::info!("request refused: Host not served here");
            Either::Right(std::future::ready(Ok(host_refused().into_response())))
        }
    }
}

fn host_refused() -> ApiError {
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "request.host_not_allowed",
        "Richiesta rifiutata: il nome del server (Host) non è tra quelli serviti.",
        "Request refused: the server name (Host) is not one this server answers to.",
    )
}

/// Lets a `/sandbox/*` request through only with the run's secret in `Sandbox-Secret`.
pub(crate) async fn require_sandbox_secret(
    State(st): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let given = req
        .headers()
        .get(SANDBOX_SECRET_HEADER)
        .and_then(|v| v.to_str().ok());
    let ok = match (&st.sandbox_secret, given) {
        (Some(expected), Some(given)) => ct_eq(expected, given.trim()),
        _ => false,
    };
    if ok {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "sandbox.secret_required",
            "Il back office del sandbox richiede il segreto di questa esecuzione (intestazione Sandbox-Secret).",
            "The sandbox back office needs this run's secret (Sandbox-Secret header).",
        )
        .into_response()
    }
}
