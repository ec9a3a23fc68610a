//! The signed request form of *firma digitale* and *firma remota*.
//!
//! For these methods the providers have the holder sign the "Modulo di richiesta di
//! identificazione del titolare" with their qualified signature certificate and keep the
//! signed file as evidence (Aruba's guide). The sandbox:
//!
//! 1. issues the form for the request as a PDF (`pdf-writer`), from the request's data: holder,
//!    codice fiscale, mailbox, contact, request id, date, method and the declarations. The bytes
//!    are stored, so every read returns the same file until the declared data or the method
//!    change (then a new form is issued and an old signature no longer matches);
//! 2. verifies the `.p7m` the holder sends back with `pec_sign::verify`: CMS signature, content
//!    byte-identical to the stored form, signing-certificate-v2, a chain to a configured
//!    qualified CA, nonRepudiation, QC statements or a qualified policy, validity at the
//!    signing time and now. Every refusal is a 422 with the verifier's code (`p7m.*`);
//! 3. evaluates the codice fiscale of the certificate (`TINIT-…` / `IT:…`) like every other
//!    method ([`crate::identity::evaluate_identification`]: another person is the data mismatch
//!    outcome), and keeps the `.p7m` for the holder to download again.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use pec_domain::{CodiceFiscale, Holder, IdentificationMethod, IdentityRequest};
use pec_provider::api::{IdentityRequestView, SignatureForm, SignedFormUpload, SignedFormView};
use rusqlite::params;

use crate::auth::Auth;
use crate::identity::{ReqRow, evaluate_identification, load_request, view};
use crate::problem::{ApiError, ApiResult};
use crate::rows::query_opt;
use crate::state::{AppState, Ctx, parse_ts, sha256_hex, ts};

/// The form's title, as the providers call it.
pub const TITLE: &str = "Modulo di richiesta di identificazione del titolare";
/// Largest `.p7m` accepted: the form is a few kB and certificates add a few more.
pub const MAX_P7M_BYTES: usize = 46 * 1024;
/// The JSON body carrying it (base64, so 4/3 of the file, and any escapes): read by the handler
/// itself, above the API's usual JSON limit.
const MAX_UPLOAD_BYTES: usize = 512 * 1024;

/// The methods whose identification is the signed form.
const FORM_METHODS: &[IdentificationMethod] = &[
    IdentificationMethod::DigitalSignature,
    IdentificationMethod::RemoteSignature,
];

fn form_request(row: &ReqRow) -> ApiResult<(IdentificationMethod, &pec_domain::HolderDraft)> {
    match &row.req {
        IdentityRequest::Identifying { method, draft } if FORM_METHODS.contains(method) => {
            Ok((*method, draft))
        }
        IdentityRequest::Identifying { .. } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "method.mismatch",
            "Il modulo firmato serve solo per la firma digitale e la firma remota.",
            "The signed form is only for firma digitale and firma remota.",
        )),
        _ => Err(ApiError::new(
            StatusCode::CONFLICT,
            "method.not_identifying",
            "La richiesta non è al passo di riconoscimento.",
            "The request is not at the identification step.",
        )),
    }
}

/// The form's text, paragraph by paragraph: the PDF prints exactly these.
pub fn paragraphs(
    request_id: &str,
    mailbox: &str,
    method: IdentificationMethod,
    draft: &pec_domain::HolderDraft,
    issued_at: DateTime<Utc>,
) -> Vec<String> {
    let mut p = vec![
        format!("Richiesta n. {request_id}"),
        format!("Data: {} (UTC)", issued_at.format("%d/%m/%Y %H:%M")),
        format!("Casella PEC: {mailbox}"),
    ];
    match &draft.holder {
        Holder::PrivateCitizen { person } => {
            p.push("Titolare: privato cittadino".into());
            p.push(format!(
                "Nome e cognome: {} {}",
                person.first_name, person.last_name
            ));
            p.push(format!("Codice fiscale: {}", person.tax_code.as_str()));
        }
        Holder::Professional {
            name,
            tax_code,
            vat_number,
        } => {
            p.push("Titolare: professionista / ditta individuale".into());
            p.push(format!("Denominazione: {name}"));
            p.push(format!("Codice fiscale: {}", tax_code.as_str()));
            if let Some(vat) = vat_number {
                p.push(format!("Partita IVA: {}", vat.as_str()));
            }
        }
        Holder::Company {
            business_name,
            tax_code,
            legal_representative,
        } => {
            p.push("Titolare: impresa / società".into());
            p.push(format!("Ragione sociale: {business_name}"));
            p.push(format!("Codice fiscale: {}", tax_code.as_str()));
            if let Some(lr) = legal_representative {
                p.push(format!(
                    "Legale rappresentante: {} {}, codice fiscale {}",
                    lr.first_name,
                    lr.last_name,
                    lr.tax_code.as_str()
                ));
            }
        }
    }
    p.push(format!(
        "E-mail di contatto: {}",
        draft.contact.email.as_str()
    ));
    p.push(format!(
        "Metodo di identificazione: {}",
        method.label(pec_domain::Lang::It)
    ));
    p.push("Il sottoscritto, firmando digitalmente questo modulo, dichiara:".into());
    p.push(
        "- di chiedere l'identificazione del titolare della casella PEC indicata, con il \
         proprio certificato qualificato di firma digitale;"
            .into(),
    );
    p.push(
        "- che i dati riportati in questo modulo sono veri e sono quelli del titolare della \
         casella;"
            .into(),
    );
    p.push(
        "- di essere consapevole delle sanzioni penali previste dall'art. 76 del D.P.R. \
         445/2000 per le dichiarazioni mendaci;"
            .into(),
    );
    p.push(
        "- di aver letto l'informativa sul trattamento dei dati personali (Regolamento UE \
         2016/679)."
            .into(),
    );
    p.push(
        "Il modulo va firmato in formato CAdES (.p7m) con il certificato di firma digitale \
         qualificato, che deve contenere il codice fiscale italiano del firmatario."
            .into(),
    );
    p
}

/// Lays `paragraphs` out on A4 pages, Helvetica (WinAnsi), wrapped at the margin.
pub fn render_pdf(title: &str, paragraphs: &[String], issued_at: DateTime<Utc>) -> Vec<u8> {
    const WIDTH: f32 = 595.0;
    const HEIGHT: f32 = 842.0;
    const MARGIN: f32 = 56.0;
    const SIZE: f32 = 10.5;
    const LEADING: f32 = 14.0;
    // Helvetica averages about half an em per character of this text: 88 columns fit
    // the 483 points between the margins at 10.5 points.
    const COLUMNS: usize = 88;

    let mut lines: Vec<(bool, String)> = Vec::new();
    for p in paragraphs {
        for l in wrap(p, COLUMNS) {
            lines.push((false, l));
        }
        lines.push((false, String::new()));
    }
    let per_page = ((HEIGHT - 2.0 * MARGIN - 40.0) / LEADING) as usize;
    let pages: Vec<&[(bool, String)]> = lines.chunks(per_page.max(1)).collect();

    let catalog_id = Ref::new(1);
    let tree_id = Ref::new(2);
    let font_id = Ref::new(3);
    let info_id = Ref::new(4);
    let mut next = 5;
    let mut alloc = || {
        let r = Ref::new(next);
        next += 1;
        r
    };
    let ids: Vec<(Ref, Ref)> = pages.iter().map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.pages(tree_id)
        .kids(ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(ids.len()).unwrap_or(i32::MAX));
    pdf.type1_font(font_id)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    // The issue time, not the rendering time: the same request gives the same bytes.
    use chrono::{Datelike, Timelike};
    let small = |n: u32| u8::try_from(n).unwrap_or(0);
    let date = pdf_writer::Date::new(u16::try_from(issued_at.year()).unwrap_or(2000))
        .month(small(issued_at.month()))
        .day(small(issued_at.day()))
        .hour(small(issued_at.hour()))
        .minute(small(issued_at.minute()))
        .second(small(issued_at.second()))
        .utc_offset_hour(0);
    pdf.document_info(info_id)
        .title(TextStr(title))
        .producer(TextStr("PEC Sandbox"))
        .creation_date(date);

    for (i, ((page_id, content_id), chunk)) in ids.iter().zip(&pages).enumerate() {
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        page.parent(tree_id);
        page.contents(*content_id);
        page.resources().fonts().pair(Name(b"F1"), font_id);
        page.finish();

        let mut c = Content::new();
        c.begin_text();
        let mut y = HEIGHT - MARGIN;
        if i == 0 {
            c.set_font(Name(b"F1"), 14.0);
            c.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, y]);
            c.show(Str(&win_ansi(title)));
            y -= 30.0;
        }
        c.set_font(Name(b"F1"), SIZE);
        for (_, line) in chunk.iter() {
            if !line.is_empty() {
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, y]);
                c.show(Str(&win_ansi(line)));
            }
            y -= LEADING;
        }
        c.set_font(Name(b"F1"), 8.0);
        c.set_text_matrix([1.0, 0.0, 0.0, 1.0, MARGIN, MARGIN / 2.0]);
        c.show(Str(&win_ansi(&format!(
            "PEC Sandbox - documento di prova - pagina {} di {}",
            i + 1,
            ids.len()
        ))));
        c.end_text();
        pdf.stream(*content_id, &c.finish());
    }
    pdf.finish()
}

/// Greedy word wrap at `columns` characters (a longer word gets a line of its own).
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > columns {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// WinAnsiEncoding bytes of `s` for the standard Helvetica: Latin-1 letters map to themselves
/// (WinAnsi agrees with Latin-1 from 0xA0 up); anything else prints as `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7E | 0xA0..=0xFF => u8::try_from(u32::from(c)).unwrap_or(b'?'),
            0x2019 => b'\'',
            _ => b'?',
        })
        .collect()
}

/// A stored form and what it was issued for.
struct Stored {
    pdf: Vec<u8>,
    paragraphs: Vec<String>,
    issued_at: DateTime<Utc>,
    basis: String,
}

/// What the form depends on: a new one is issued when this changes.
fn basis(
    row: &ReqRow,
    method: IdentificationMethod,
    draft: &pec_domain::HolderDraft,
) -> ApiResult<String> {
    let draft_json = serde_json::to_string(&pec_provider::api::DraftData::from(draft))?;
    Ok(sha256_hex(&[
        row.mailbox.as_bytes(),
        format!("{method:?}").as_bytes(),
        draft_json.as_bytes(),
    ]))
}

fn load_stored(ctx: &Ctx<'_>, request_id: &str) -> ApiResult<Option<Stored>> {
    let row: Option<(Vec<u8>, String, String, String)> = query_opt(
        ctx.tx,
        "SELECT pdf, paragraphs, issued_at, basis FROM signature_forms WHERE request_id = ?1",
        params![request_id],
    )?;
    row.map(|(pdf, paragraphs, at, basis)| {
        Ok(Stored {
            pdf,
            paragraphs: serde_json::from_str(&paragraphs)?,
            issued_at: parse_ts(&at)?,
            basis,
        })
    })
    .transpose()
}

/// The current form of the request, issuing (or re-issuing) it when needed.
fn current_form(ctx: &Ctx<'_>, row: &ReqRow) -> ApiResult<Stored> {
    let (method, draft) = form_request(row)?;
    let basis = basis(row, method, draft)?;
    if let Some(s) = load_stored(ctx, &row.id)?
        && s.basis == basis
    {
        return Ok(s);
    }
    let issued_at = ctx.now;
    let paragraphs = paragraphs(&row.id, &row.mailbox, method, draft, issued_at);
    let pdf = render_pdf(TITLE, &paragraphs, issued_at);
    ctx.tx.execute(
        "INSERT INTO signature_forms (request_id, pdf, paragraphs, issued_at, basis)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(request_id) DO UPDATE SET pdf = ?2, paragraphs = ?3, issued_at = ?4,
             basis = ?5, p7m = NULL, received_at = NULL, signer = NULL, codice_fiscale = NULL",
        params![
            row.id,
            pdf,
            serde_json::to_string(&paragraphs)?,
            ts(issued_at),
            basis
        ],
    )?;
    Ok(Stored {
        pdf,
        paragraphs,
        issued_at,
        basis,
    })
}

fn form_view(request_id: &str, s: &Stored, remote_signature_url: Option<String>) -> SignatureForm {
    SignatureForm {
        request_id: request_id.to_owned(),
        title: TITLE.to_owned(),
        paragraphs: s.paragraphs.clone(),
        filename: format!("modulo-{request_id}.pdf"),
        sha256: sha256_hex(&[&s.pdf]),
        pdf: B64.encode(&s.pdf),
        issued_at: s.issued_at,
        remote_signature_url,
    }
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// The request form to sign ("Modulo di richiesta di identificazione del titolare"), for a
/// request at the identification step with method firma digitale or firma remota. Issued on
/// the first read; the same bytes until the request's data or method change.
#[utoipa::path(get, path = "/v1/identity-requests/{id}/signature-form", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The form", body = SignatureForm),
              (status = 409, description = "`method.mismatch` (another method) or `method.not_identifying`",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_form(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SignatureForm>> {
    let csc = st.remote_signature_url.clone();
    st.run(move |ctx| {
        let row = load_request(ctx, &auth.account_id, &id)?;
        let stored = current_form(ctx, &row)?;
        let remote = match form_request(&row)?.0 {
            IdentificationMethod::RemoteSignature => csc,
            _ => None,
        };
        Ok(Json(form_view(&row.id, &stored, remote)))
    })
    .await
}

fn p7m_error(e: &pec_sign::VerifyError) -> ApiError {
    ApiError::domain(StatusCode::UNPROCESSABLE_ENTITY, e)
}

fn system_time(t: DateTime<Utc>) -> SystemTime {
    match u64::try_from(t.timestamp()) {
        Ok(s) => UNIX_EPOCH + Duration::from_secs(s),
        Err(_) => UNIX_EPOCH,
    }
}

/// Sends the signed form (CAdES-BES `.p7m`, content attached). The provider verifies it (CMS
/// signature; content identical to the form it issued for this request; signing-certificate-v2;
/// chain to a trusted qualified CA; nonRepudiation; qualified; valid at the signing time) and
/// evaluates the codice fiscale of the certificate against the declared holder: another
/// person is the `data_mismatch` outcome, as with every method. The signed form is kept.
#[utoipa::path(post, path = "/v1/identity-requests/{id}/signature-form/signed", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    request_body = SignedFormUpload,
    responses((status = 200, description = "The request after the identification", body = IdentityRequestView),
              (status = 409, description = "`method.mismatch`, `method.not_identifying`, `form.not_issued`",
               body = pec_provider::api::Problem, content_type = "application/problem+json"),
              (status = 422, description = "Refused: `p7m.malformed`, `p7m.content_mismatch`, `p7m.signature_invalid`, `p7m.signing_certificate_mismatch`, `p7m.untrusted`, `p7m.certificate_expired`, `p7m.not_signature_certificate`, `p7m.not_qualified`, `p7m.codice_fiscale_missing`, …",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn send_signed(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> ApiResult<Json<IdentityRequestView>> {
    let (account, rid) = (Arc::clone(&auth.account_id), id.clone());
    let (form, now) = st
        .read(move |ctx| {
            let row = load_request(ctx, &account, &rid)?;
            let (method, draft) = form_request(&row)?;
            let basis = basis(&row, method, draft)?;
            match load_stored(ctx, &row.id)? {
                Some(s) if s.basis == basis => Ok((s.pdf, ctx.now)),
                _ => Err(not_issued()),
            }
        })
        .await?;

    // Read and decoded once the request is known to be waiting for it (404 and 409 come
    // first), under a limit of its own: a body over it is a file that is not a form's
    // signature (422), not a transport error.
    let malformed =
        |why: &str| p7m_error(&pec_sign::VerifyError::Malformed(format!("upload: {why}")));
    let bytes = axum::body::to_bytes(body, MAX_UPLOAD_BYTES)
        .await
        .map_err(|_| malformed("too large"))?;
    let upload: SignedFormUpload =
        serde_json::from_slice(&bytes).map_err(|_| malformed("not the JSON expected"))?;
    let p7m = B64
        .decode(upload.p7m.trim())
        .ok()
        .filter(|b| !b.is_empty() && b.len() <= MAX_P7M_BYTES)
        .ok_or_else(|| {
            p7m_error(&pec_sign::VerifyError::Malformed(
                "not base64 or too large".into(),
            ))
        })?;
    // RSA verification outside the writer: a slow upload does not hold up the others.
    let signature_cas = Arc::clone(&st.signature_cas);
    let checked = form.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let policy = pec_sign::Policy::new(&signature_cas)
            .expecting(&checked)
            .at(system_time(now));
        pec_sign::verify::verify(&p7m, &policy).map(|v| (v, p7m))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?
    .map_err(|e| p7m_error(&e))?;
    let (verified, p7m) = verified;
    let cf = match verified.signer.codice_fiscale.as_deref() {
        Some(cf) => CodiceFiscale::parse(cf)
            .map_err(|_| p7m_error(&pec_sign::VerifyError::CodiceFiscaleMissing))?,
        None => return Err(p7m_error(&pec_sign::VerifyError::CodiceFiscaleMissing)),
    };
    let signer = verified.signer.common_name.clone();
    let digest = sha256_hex(&[&form]);

    st.run(move |ctx| {
        let mut row = load_request(ctx, &auth.account_id, &id)?;
        // The data may have changed (a new form) while the signature was being checked.
        let (method, draft) = form_request(&row)?;
        let basis = basis(&row, method, draft)?;
        match load_stored(ctx, &row.id)? {
            Some(s) if s.basis == basis && sha256_hex(&[&s.pdf]) == digest => {}
            _ => return Err(not_issued()),
        }
        ctx.tx.execute(
            "UPDATE signature_forms SET p7m = ?1, received_at = ?2, signer = ?3,
                 codice_fiscale = ?4 WHERE request_id = ?5",
            params![p7m, ts(ctx.now), signer, cf.as_str(), row.id],
        )?;
        evaluate_identification(ctx, &mut row, &cf)?;
        view(ctx, &row).map(Json)
    })
    .await
}

/// A kept signed form: `.p7m`, when received, signer, codice fiscale.
type KeptRow = (
    Option<Vec<u8>>,
    Option<String>,
    Option<String>,
    Option<String>,
);

fn not_issued() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "form.not_issued",
        "Il modulo non è più quello da firmare: scaricalo di nuovo e firmalo.",
        "The form is no longer the one to sign: download it again and sign it.",
    )
}

/// The signed form the provider kept for this request, for the holder to save a copy (the
/// success page's "Salva la copia firmata").
#[utoipa::path(get, path = "/v1/identity-requests/{id}/signature-form/signed", tag = "methods",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Request id")),
    responses((status = 200, description = "The signed form", body = SignedFormView),
              (status = 404, description = "No signed form for this request",
               body = pec_provider::api::Problem, content_type = "application/problem+json")))]
pub(crate) async fn get_signed(
    State(st): State<Arc<AppState>>,
    auth: Auth,
    Path(id): Path<String>,
) -> ApiResult<Json<SignedFormView>> {
    st.read(move |ctx| {
        let row = load_request(ctx, &auth.account_id, &id)?;
        let kept: Option<KeptRow> = query_opt(
            ctx.tx,
            "SELECT p7m, received_at, signer, codice_fiscale FROM signature_forms
                 WHERE request_id = ?1",
            params![row.id],
        )?;
        let Some((Some(p7m), Some(at), signer, codice_fiscale)) = kept else {
            return Err(ApiError::not_found("Modulo firmato", "Signed form"));
        };
        Ok(Json(SignedFormView {
            filename: format!("modulo-{}.pdf.p7m", row.id),
            request_id: row.id,
            p7m: B64.encode(&p7m),
            signer,
            codice_fiscale,
            received_at: parse_ts(&at)?,
        }))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_keeps_words_and_width() {
        let text = "uno due tre quattro cinque sei sette otto nove dieci";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| l.chars().count() <= 12), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("parolalunghissima", 5), vec!["parolalunghissima"]);
    }

    #[test]
    fn win_ansi_keeps_italian_letters() {
        assert_eq!(win_ansi("identità è"), b"identit\xe0 \xe8".to_vec());
        assert_eq!(win_ansi("a\u{0101}b"), b"a?b".to_vec());
    }

    #[test]
    fn the_pdf_is_a_pdf_and_says_the_text() {
        let at = DateTime::<Utc>::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let pdf = render_pdf(TITLE, &["Codice fiscale: RSSMRA45C12F205C".into()], at);
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.windows(16).any(|w| w == b"RSSMRA45C12F205C"));
        // The same data give the same bytes (what the holder signs can be reissued).
        assert_eq!(
            pdf,
            render_pdf(TITLE, &["Codice fiscale: RSSMRA45C12F205C".into()], at)
        );
    }
}
