//! Change of the PEC address on record at a public registry (seed 003, OAM style).
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
//!   registry only once; the app keeps it in memory for this run and never sends it to the UI.

use std::collections::HashMap;

use pec_provider::api::{
    PecChangeRequest, PecChangeView, RegistrationRecord, SupportTicketRequest, SupportTicketView,
};
use serde::Serialize;
use tauri::State;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

use crate::CommandError;
use crate::error::localized;
use crate::identity::document_upload;
use crate::session::Connection;

/// Follow-up secrets of the tickets opened in this run, by ticket number.
#[derive(Default)]
pub struct Tickets(Mutex<HashMap<String, Zeroizing<String>>>);

/// The record and the changes of the signed-in registry user, as the screen shows them.
#[derive(Debug, Serialize)]
pub struct RegistryView {
    pub record: RegistrationRecord,
    /// Newest first.
    pub changes: Vec<PecChangeView>,
}

async fn view(conn: &Connection) -> Result<RegistryView, CommandError> {
    let client = conn.client().await?;
    let (record, changes) = tokio::join!(client.registration(), client.pec_changes());
    Ok(RegistryView {
        record: record?,
        changes: changes?,
    })
}

/// Signs in to the registry's private area and returns the record. The password is zeroized
/// once the registry has answered.
#[tauri::command]
pub async fn registry_sign_in(
    conn: State<'_, Connection>,
    username: String,
    password: Zeroizing<String>,
) -> Result<RegistryView, CommandError> {
    let username = username.trim();
    if username.is_empty() || username.len() > 128 || password.is_empty() || password.len() > 256 {
        return Err(localized(
            "registry.credentials_missing",
            "Inserisci nome utente e password dell’area privata.",
            "Enter the user name and password of the private area.",
        ));
    }
    conn.client()
        .await?
        .registry_sign_in(username, &password)
        .await?;
    tracing::info!("signed in to the registry");
    view(&conn).await
}

/// The record and the changes, read again (e.g. after the link was used elsewhere).
#[tauri::command]
pub async fn registry_view(conn: State<'_, Connection>) -> Result<RegistryView, CommandError> {
    view(&conn).await
}

/// Leaves the registry's private area (the provider session is untouched).
#[tauri::command]
pub async fn registry_sign_out(conn: State<'_, Connection>) -> Result<(), CommandError> {
    conn.client()
        .await?
        .set_portal_token(pec_provider::Portal::Registry, None);
    Ok(())
}

/// *Invia dati*: the new PEC and its confirmation. The registry checks them (valid address,
/// equal, different from the one on record) and e-mails the link to the new PEC.
#[tauri::command]
pub async fn registry_request_change(
    conn: State<'_, Connection>,
    new_pec: String,
    confirm_new_pec: String,
) -> Result<RegistryView, CommandError> {
    if new_pec.len() > 320 || confirm_new_pec.len() > 320 {
        return Err(localized(
            "registry.pec_too_long",
            "L’indirizzo PEC è troppo lungo.",
            "The PEC address is too long.",
        ));
    }
    let req = PecChangeRequest {
        new_pec: new_pec.trim().to_owned(),
        confirm_new_pec: confirm_new_pec.trim().to_owned(),
    };
    let change = conn.client().await?.request_pec_change(&req).await?;
    tracing::info!(change = %change.id, "change of PEC requested");
    view(&conn).await
}

/// The token of a confirmation link pasted by the user, if the link is the registry's own.
fn link_token(link: &str, provider_base: &str) -> Option<String> {
    let link = link.trim();
    let url = url::Url::parse(link).ok()?;
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
/// the registry answers with the seed's error and a new request is needed.
#[tauri::command]
pub async fn registry_confirm_link(
    conn: State<'_, Connection>,
    link: Zeroizing<String>,
) -> Result<PecChangeView, CommandError> {
    let provider = conn.provider().await?;
    let token = link_token(&link, &provider.base_url()).ok_or_else(|| {
        localized(
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

/// Opens a support ticket (no private area needed). The follow-up secret stays in Rust.
#[tauri::command]
pub async fn support_open(
    conn: State<'_, Connection>,
    tickets: State<'_, Tickets>,
    request: SupportTicketRequest,
) -> Result<SupportTicketView, CommandError> {
    let created = conn.client().await?.open_support_ticket(&request).await?;
    let number = created.ticket.number.clone();
    tickets
        .0
        .lock()
        .await
        .insert(number.clone(), Zeroizing::new(created.follow_token.clone()));
    tracing::info!(ticket = %number, "support ticket opened");
    Ok(created.ticket)
}

async fn follow_token(tickets: &Tickets, number: &str) -> Result<Zeroizing<String>, CommandError> {
    tickets.0.lock().await.get(number).cloned().ok_or_else(|| {
        localized(
            "support.unknown_ticket",
            "Questa richiesta non è stata aperta da questa sessione dell’app.",
            "This request was not opened in this session of the app.",
        )
    })
}

/// A ticket opened in this run, read again.
#[tauri::command]
pub async fn support_ticket(
    conn: State<'_, Connection>,
    tickets: State<'_, Tickets>,
    number: String,
) -> Result<SupportTicketView, CommandError> {
    let token = follow_token(&tickets, &number).await?;
    Ok(conn.client().await?.support_ticket(&number, &token).await?)
}

/// Attaches the identity document to a ticket. The bytes come as the raw IPC body, the ticket
/// number and file name in headers (as for the identity documents).
#[tauri::command]
pub async fn support_attach(
    conn: State<'_, Connection>,
    tickets: State<'_, Tickets>,
    request: tauri::ipc::Request<'_>,
) -> Result<SupportTicketView, CommandError> {
    let doc = document_upload(&request, "x-ticket")?;
    let number = doc.owner.clone();
    let token = follow_token(&tickets, &number).await?;
    let ticket = conn
        .client()
        .await?
        .attach_ticket_document(
            &number,
            &token,
            &doc.filename,
            doc.media,
            doc.bytes.to_vec(),
        )
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
