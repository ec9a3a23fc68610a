//! The CIE (Carta d'Identità Elettronica 3.0) as an identification method, two ways:
//!
//! - **with a reader**: the card method's challenge and answer (`/card/challenge`,
//!   `/card/response`), verified like a CNS ([`crate::card::verify_for`]) plus the CIE's own
//!   rules: the chain ends at a configured CIE root ([`crate::Config::cie_trust_anchors`]: the
//!   Ministry's "National root CA for the Italian Electronic Identity Card" in production, the
//!   virtual CIEs' test root in the app's embedded sandbox), the certificate carries the CIE
//!   authentication policy [`OID_POLICY_CIE`], and the codice fiscale is the first 16
//!   characters of its CN;
//! - **without a reader (CieID)**: the provider's "Entra con CIE" web login, opened in the
//!   system browser with a QR code for the CieID app, which reads the card over the phone's
//!   NFC and confirms. The sandbox simulates that identity provider the way it simulates SPID:
//!   the browser page (`/sandbox/cieid/login/{handle}`) shows the QR code of the phone page
//!   (`/sandbox/cieid/phone/{handle}`), where the simulated app confirms one of the virtual
//!   CIEs' holders; the app polls `GET /v1/identity-requests/{id}/cieid/{handle}` (the login
//!   mechanism is SPID's, `crate::idp`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Html;
use chrono::TimeDelta;
use der::Decode;
use pec_domain::{CodiceFiscale, IdentificationMethod};
use pec_provider::api::{CieIdLogin, CieIdPoll, CieIdStatus};
use serde::Deserialize;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{CertificatePolicies, ExtendedKeyUsage};

use crate::auth::Auth;
use crate::card::{
    CardError, OID_ANY_EXT_KEY_USAGE, OID_CERT_POLICIES, OID_COMMON_NAME, OID_EXT_KEY_USAGE,
    OID_KP_CLIENT_AUTH, extension,
};
use crate::idp::{Decision, Idp, LoginState};
use crate::mailboxes::idem_key;
use crate::problem::{ApiError, ApiResult};
use crate::state::{AppState, idempotent, sha256_hex};

/// Certificate policy of the CIE's authentication certificate (Ministero dell'Interno; the
/// OID the issue and the reference cite, `../shared/reference/smartcards.md` §2).
pub const OID_POLICY_CIE: &str = "1.3.76.47.4";

/// A CieID login must be completed within this time.
pub const CIEID_TTL: TimeDelta = TimeDelta::minutes(10);

/// Prefix of CieID handles. The logins share the table of the SPID logins (one row per
/// browser login at an identity provider the sandbox simulates); the prefix keeps each
/// provider's pages to its own logins.
const HANDLE_PREFIX: &str = "cieid";

/// The holders whose CIE the simulated CieID app can read: the virtual CIEs of
/// `pec-card-sim` (codice fiscale, given name, surname).
pub const CIEID_HOLDERS: &[(&str, &str, &str)] = &[
    ("RSSMRA80A01H501U", "Mario", "Rossi"),
    ("BNCGLI85C55F205C", "Giulia", "Bianchi"),
];

// ---------------------------------------------------------------------------------------------
// The certificate rules

/// The CIE's authentication certificate: the CIE policy, and no extended key usage that
/// restricts the key to purposes other than client authentication.
pub(crate) fn check_cie_purpose(cert: &Certificate) -> Result<(), CardError> {
    if let Some(v) = extension(cert, OID_EXT_KEY_USAGE)? {
        let eku = ExtendedKeyUsage::from_der(v).map_err(|_| CardError::Encoding)?;
        let allowed = eku.0.iter().any(|p| {
            let p = p.to_string();
            p == OID_KP_CLIENT_AUTH || p == OID_ANY_EXT_KEY_USAGE
        });
        if !allowed {
            return Err(CardError::NotCie);
        }
    }
    let cie_policy = extension(cert, OID_CERT_POLICIES)?
        .map(|v| CertificatePolicies::from_der(v).map_err(|_| CardError::Encoding))
        .transpose()?
        .is_some_and(|p| {
            p.0.iter()
                .any(|i| i.policy_identifier.to_string() == OID_POLICY_CIE)
        });
    if cie_policy {
        Ok(())
    } else {
        Err(CardError::NotCie)
    }
}

/// The codice fiscale of a CIE certificate: the first 16 characters of the (first) CN, the
/// rule the app applies too (`pec_card::cert`), so the holder sees in the app what the
/// provider compares.
pub(crate) fn tax_code(cert: &Certificate) -> Result<CodiceFiscale, CardError> {
    let cn = cert
        .tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid.to_string() == OID_COMMON_NAME)
        .and_then(|atv| std::str::from_utf8(atv.value.value()).ok());
    cn.and_then(|c| c.get(..16))
        .and_then(|c| CodiceFiscale::parse(c).ok())
        .ok_or(CardError::NoTaxCode)
}

// ---------------------------------------------------------------------------------------------
// CieID

/// The sandbox's simulated CieID identity provider.
const CIEID: Idp = Idp {
    prefix: HANDLE_PREFIX,
    method: IdentificationMethod::Cie,
    login_it: "Accesso CieID",
    login_en: "CieID login",
    not_configured_code: "cieid.not_configured",
    not_configured_it: "L'accesso con CieID non è configurato su questo server: usa la CIE con un lettore NFC.",
    not_configured_en: "CieID login is not configured on this server: use the CIE with an NFC reader.",
    finished_code: "cieid.finished",
    ttl: CIEID_TTL,
};

impl From<LoginState> for CieIdStatus {
    fn from(s: LoginState) -> CieIdStatus {
        match s {
            LoginState::Pending => CieIdStatus::Pending,
            LoginState::Authorised => CieIdStatus::Authorised,
            LoginState::Denied => CieIdStatus::Denied,
            LoginState::Expired => CieIdStatus::Expired,
        }
    }
}

/// Starts a CieID login: open `login_url` in the system browser; the holder scans its QR code
/// with the CieID app (`phone_url`), then poll. Honours `Idempotency-Key`.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/cieid", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("Idempotency-Key" = Option<String>, Header, description = "Repeat-safe create")),
    responses((status = 201, description = "Login started", body = CieIdLogin),
              (status = 501, description = "`cieid.not_configured`: no CieID identity provider on this server",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn cieid_start(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let key = idem_key(&headers);
    st.run(move |ctx| {
        let fp = sha256_hex(&[b"cieid", id.as_bytes()]);
        let account = auth.account_id.clone();
        let (status, body) = idempotent(ctx, &account, key.as_deref(), &fp, |ctx| {
            let (handle, expires_at) = CIEID.start(ctx, &auth.account_id, &id)?;
            let v = CieIdLogin {
                login_url: format!("{}/sandbox/cieid/login/{handle}", ctx.st.base_url),
                phone_url: format!("{}/sandbox/cieid/phone/{handle}", ctx.st.base_url),
                handle,
                expires_at,
            };
            Ok((201, serde_json::to_value(v)?))
        })?;
        Ok((
            StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
            Json(body),
        ))
    })
    .await
}

/// Polls a CieID login.
#[utoipa::path(get, path = "/v1/identity-requests/{id}/cieid/{handle}", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id"),
           ("handle" = String, Path, description = "Login handle")),
    responses((status = 200, description = "Login state", body = CieIdPoll)))]
pub(crate) async fn cieid_poll(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path((id, handle)): Path<(String, String)>,
) -> ApiResult<Json<CieIdPoll>> {
    st.run(move |ctx| {
        let (state, request) = CIEID.poll(ctx, &auth.account_id, &id, &handle)?;
        Ok(Json(CieIdPoll {
            status: state.into(),
            request,
        }))
    })
    .await
}

fn page(title: &str, body: &str, refresh: bool) -> Html<String> {
    let refresh = if refresh {
        "<meta http-equiv=\"refresh\" content=\"3\">"
    } else {
        ""
    };
    Html(format!(
        "<!doctype html><html lang=\"it\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">{refresh}\
         <title>{title}</title></head><body>{body}</body></html>"
    ))
}

fn finished_text(state: LoginState) -> &'static str {
    match state {
        LoginState::Authorised => {
            "<p data-testid=\"cieid-done\">Accesso autorizzato: torna all'applicazione. / Authorised: go back to the app.</p>"
        }
        LoginState::Denied => "<p>Accesso annullato. / Login cancelled.</p>",
        _ => "<p>Accesso scaduto. / Login expired.</p>",
    }
}

/// The "Entra con CIE" page the app opens in the system browser (sandbox only, not part of
/// the API document): the QR code for the CieID app, refreshed until the phone confirms.
pub(crate) async fn cieid_login_page(
    State(st): State<Arc<AppState>>,
    Path(handle): Path<String>,
) -> ApiResult<Html<String>> {
    st.run(move |ctx| {
        let (_, status) = CIEID.status(ctx, &handle)?;
        if status != LoginState::Pending {
            return Ok(page("Entra con CIE", finished_text(status), false));
        }
        let phone = format!("{}/sandbox/cieid/phone/{handle}", ctx.st.base_url);
        let qr = qrcode::QrCode::with_error_correction_level(phone.as_bytes(), qrcode::EcLevel::M)
            .map_err(|e| ApiError::internal(&e))?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        let qr = qr.find("<svg").map_or(qr.as_str(), |i| &qr[i..]).to_owned();
        let body = format!(
            "<h1>Entra con CIE — identity provider di prova</h1>\
             <p>Inquadra il codice QR con l'app CieID sul tuo smartphone, poi appoggia la CIE \
             sul retro del telefono quando l'app te lo chiede. / Scan the QR code with the \
             CieID app on your phone, then hold the CIE against the back of the phone when \
             the app asks.</p>{qr}\
             <p><a href=\"{phone}\">Pagina dell'app CieID (simulata) / CieID app page \
             (simulated)</a></p>"
        );
        Ok(page("Entra con CIE", &body, true))
    })
    .await
}

/// The simulated CieID app's page (what the phone opens from the QR code): the holder of the
/// CIE the phone read, and the confirmation.
pub(crate) async fn cieid_phone_page(
    State(st): State<Arc<AppState>>,
    Path(handle): Path<String>,
) -> ApiResult<Html<String>> {
    st.run(move |ctx| {
        let (_, status) = CIEID.status(ctx, &handle)?;
        if status != LoginState::Pending {
            return Ok(page("CieID", finished_text(status), false));
        }
        let options: String = CIEID_HOLDERS
            .iter()
            .enumerate()
            .map(|(i, (cf, first, last))| {
                format!(
                    "<label><input type=\"radio\" name=\"tax_code\" value=\"{cf}\"{}> \
                     CIE di {first} {last} ({cf})</label><br>",
                    if i == 0 { " checked" } else { "" }
                )
            })
            .collect();
        let body = format!(
            "<h1>CieID — app di prova</h1>\
             <p>La carta letta dal telefono / The card the phone read:</p>\
             <form method=\"post\">{options}<p>\
             <button name=\"decision\" value=\"authorise\">Conferma / Confirm</button> \
             <button name=\"decision\" value=\"deny\">Annulla / Cancel</button></p></form>"
        );
        Ok(page("CieID", &body, false))
    })
    .await
}

/// The simulated app's form.
#[derive(Debug, Deserialize)]
pub(crate) struct CieIdForm {
    tax_code: Option<String>,
    decision: String,
}

/// The simulated CieID app's decision (sandbox only): the holder's codice fiscale read from
/// the CIE goes to the provider's common evaluation, as a card's would.
pub(crate) async fn cieid_decide(
    State(st): State<Arc<AppState>>,
    Path(handle): Path<String>,
    Form(form): Form<CieIdForm>,
) -> ApiResult<Html<String>> {
    st.run(move |ctx| {
        let decision = Decision::from_form(&form.decision, form.tax_code);
        let state = CIEID.decide(ctx, &handle, decision, |_, cf| {
            Ok(CIEID_HOLDERS
                .iter()
                .find(|(known, _, _)| *known == cf)
                .and_then(|(known, _, _)| CodiceFiscale::parse(known).ok()))
        })?;
        Ok(page("CieID", finished_text(state), false))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::new_id;

    #[test]
    fn handles_of_other_providers_are_not_cieid_logins() {
        assert!(!"spid_abc".starts_with(HANDLE_PREFIX));
        assert!(new_id(HANDLE_PREFIX).starts_with(HANDLE_PREFIX));
    }
}
