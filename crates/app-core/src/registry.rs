//! Change of the PEC address on record at a public registry (OAM-style registries).
//!
//! A registry is not the PEC provider: it has its own private area, with its own user name and
//! password, and its own session, which the provider client keeps apart from the provider's
//! (`pec_provider::Portal::Registry`), in memory only, for this run.
//!
//! - *Modifica dati di registrazione*: the record, *Nuova PEC* and its confirmation, *Invia
//!   dati*; the registry e-mails a confirmation link to the new PEC, valid until 24:00
//!   Europe/Rome of the day after receipt. The app lists the changes with that deadline and
//!   their state, and accepts the link pasted from the PEC, so the user can confirm here.
//! - Without access to the private area: the support path (problem type → *Cambio PEC* → *No*
//!   → questionnaire → identity document) opens a ticket. Its follow-up secret is shown by the
//!   registry only once; the core keeps it in memory for this run and never hands it out.

use std::collections::HashMap;

use pec_provider::api::{
    PecChangeRequest, PecChangeView, RegistrationRecord, SupportTicketRequest, SupportTicketView,
};
use serde::Serialize;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::error::refusal;
use crate::{Core, Result, documents};

/// Follow-up secrets of the tickets opened in this run, by ticket number.
#[derive(Default)]
pub struct Tickets(Mutex<HashMap<String, Zeroizing<String>>>);

/// The record and the changes of the signed-in registry user, as the screen shows them.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct RegistryView {
    pub record: RegistrationRecord,
    /// Newest first.
    pub changes: Vec<PecChangeView>,
}

/// The record and the changes, read again (e.g. after the link was used elsewhere).
pub async fn view(core: &Core) -> Result<RegistryView> {
    let client = core.conn.client().await?;
    let (record, changes) = tokio::join!(client.registration(), client.pec_changes());
    Ok(RegistryView {
        record: record?,
        changes: changes?,
    })
}

/// Signs in to the registry's private area and returns the record.
pub async fn sign_in(core: &Core, username: &str, password: &str) -> Result<RegistryView> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 || password.is_empty() || password.len() > 256 {
        return Err(refusal(
            "registry.credentials_missing",
            "Inserisci nome utente e password dell’area privata.",
            "Enter the user name and password of the private area.",
        ));
    }
    core.conn
        .client()
        .await?
        .registry_sign_in(username, password)
        .await?;
    tracing::info!("signed in to the registry");
    view(core).await
}

/// Leaves the registry's private area (the provider session is untouched).
pub async fn sign_out(core: &Core) -> Result<()> {
    core.conn
        .client()
        .await?
        .set_portal_token(pec_provider::Portal::Registry, None);
    Ok(())
}

/// *Invia dati*: the new PEC and its confirmation. The registry checks them (valid address,
/// equal, different from the one on record) and e-mails the link to the new PEC.
pub async fn request_change(
    core: &Core,
    new_pec: &str,
    confirm_new_pec: &str,
) -> Result<RegistryView> {
    if new_pec.len() > 320 || confirm_new_pec.len() > 320 {
        return Err(refusal(
            "registry.pec_too_long",
            "L’indirizzo PEC è troppo lungo.",
            "The PEC address is too long.",
        ));
    }
    let req = PecChangeRequest {
        new_pec: new_pec.trim().to_owned(),
        confirm_new_pec: confirm_new_pec.trim().to_owned(),
    };
    let change = core.conn.client().await?.request_pec_change(&req).await?;
    tracing::info!(change = %change.id, "change of PEC requested");
    view(core).await
}

/// The token of a confirmation link pasted by the user, if the link is the registry's own.
fn link_token(link: &str, provider_base: &str) -> Option<String> {
    let url = url::Url::parse(link.trim()).ok()?;
    let base = url::Url::parse(provider_base).ok()?;
    if url.origin() != base.origin() {
        return None;
    }
    let mut segments = url.path_segments()?;
    let shape = [
        segments.next()?,
        segments.next()?,
        segments.next()?,
        segments.next()?,
    ];
    if shape[..3] != ["registry", "v1", "pec-confirmations"] || segments.next().is_some() {
        return None;
    }
    let token = shape[3];
    let ok = (16..=128).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| token.to_owned())
}

/// Confirms a change with the link received at the new PEC, pasted here. After the deadline
/// the registry answers `registry.link_expired` and a new request is needed.
pub async fn confirm_link(core: &Core, link: &str) -> Result<PecChangeView> {
    let provider = core.conn.provider().await?;
    let token = link_token(link, &provider.base_url()).ok_or_else(|| {
        refusal(
            "registry.link_invalid",
            "Questo non è un link di conferma del registro: copia l’intero link dalla PEC ricevuta.",
            "This is not a confirmation link of the registry: copy the whole link from the PEC you received.",
        )
    })?;
    let token = Zeroizing::new(token);
    let change = provider.client().confirm_pec_change(&token).await?;
    tracing::info!(change = %change.id, state = ?change.state, "confirmation link used");
    Ok(change)
}

/// Opens a support ticket (no private area needed). The follow-up secret stays here.
pub async fn support_open(
    core: &Core,
    request: &SupportTicketRequest,
) -> Result<SupportTicketView> {
    let created = core
        .conn
        .client()
        .await?
        .open_support_ticket(request)
        .await?;
    let number = created.ticket.number.clone();
    core.tickets
        .0
        .lock()
        .await
        .insert(number.clone(), Zeroizing::new(created.follow_token.clone()));
    tracing::info!(ticket = %number, "support ticket opened");
    Ok(created.ticket)
}

async fn follow_token(core: &Core, number: &str) -> Result<Zeroizing<String>> {
    core.tickets
        .0
        .lock()
        .await
        .get(number)
        .cloned()
        .ok_or_else(|| {
            refusal(
                "support.unknown_ticket",
                "Questa richiesta non è stata aperta da questa sessione dell’app.",
                "This request was not opened in this session of the app.",
            )
        })
}

/// A ticket opened in this run, read again.
pub async fn support_ticket(core: &Core, number: &str) -> Result<SupportTicketView> {
    let token = follow_token(core, number).await?;
    Ok(core
        .conn
        .client()
        .await?
        .support_ticket(number, &token)
        .await?)
}

/// Attaches the identity document to a ticket opened in this run.
pub async fn support_attach(
    core: &Core,
    number: &str,
    encoded_name: Option<&str>,
    bytes: &[u8],
) -> Result<SupportTicketView> {
    let doc = documents::checked(encoded_name, bytes)?;
    let token = follow_token(core, number).await?;
    let ticket = core
        .conn
        .client()
        .await?
        .attach_ticket_document(number, &token, &doc.filename, doc.media, doc.bytes.to_vec())
        .await?;
    tracing::info!(ticket = %number, media = doc.media, size = doc.bytes.len(), "identity document attached");
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "http://127.0.0.1:4100";

    #[test]
    fn only_the_registrys_own_confirmation_links_are_taken() {
        let token = "AbCdEf0123456789_-xyz";
        assert_eq!(
            link_token(
                &format!(" {BASE}/registry/v1/pec-confirmations/{token}\n"),
                BASE
            )
            .as_deref(),
            Some(token)
        );
        for bad in [
            format!("http://evil.test/registry/v1/pec-confirmations/{token}"),
            format!("http://127.0.0.1:4101/registry/v1/pec-confirmations/{token}"),
            format!("{BASE}/registry/v1/pec-confirmations/{token}/more"),
            format!("{BASE}/registry/v1/other/{token}"),
            format!("{BASE}/registry/v1/pec-confirmations/short"),
            format!("{BASE}/registry/v1/pec-confirmations/bad%20token%20chars!!"),
            token.to_owned(),
            String::new(),
        ] {
            assert_eq!(link_token(&bad, BASE), None, "{bad}");
        }
    }
}
