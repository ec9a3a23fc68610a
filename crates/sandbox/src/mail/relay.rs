//! Delivery of the outbox through the SMTP relay.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use rusqlite::params;
use tokio::task::JoinHandle;

use super::{MAX_DELIVERY_ATTEMPTS, REDACTED_BODY, SmtpConfig, SmtpSecurity};
use crate::state::{AppState, ts};

fn transport(cfg: &SmtpConfig) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    let builder = match cfg.security {
        SmtpSecurity::Plain => {
            let loopback = cfg.host == "localhost"
                || cfg
                    .host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                anyhow::bail!("plain SMTP is allowed only to a relay on loopback");
            }
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host)
        }
        SmtpSecurity::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)?,
        SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)?,
    };
    let mut builder = builder
        .port(cfg.port)
        .timeout(Some(Duration::from_secs(20)));
    if let Some((user, password)) = &cfg.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// Starts the relay task; it runs until aborted.
pub(crate) fn spawn_delivery(
    state: Arc<AppState>,
    cfg: SmtpConfig,
) -> anyhow::Result<JoinHandle<()>> {
    let smtp = transport(&cfg)?;
    let from: lettre::message::Mailbox = cfg.from.parse()?;
    Ok(tokio::spawn(async move {
        loop {
            if let Err(e) = deliver_pending(&state, &smtp, &from).await {
                tracing::warn!(error = %e.localized.message_en, "mail relay pass failed");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }))
}

type Pending = (i64, String, String, String);

async fn deliver_pending(
    state: &Arc<AppState>,
    smtp: &AsyncSmtpTransport<Tokio1Executor>,
    from: &lettre::message::Mailbox,
) -> crate::problem::ApiResult<()> {
    let pending: Vec<Pending> = state
        .run(|ctx| {
            let mut stmt = ctx.tx.prepare(
                "SELECT id, recipient, subject, body FROM outbox
                 WHERE deliver = 1 AND delivered_at IS NULL AND delivery_attempts < ?1
                 ORDER BY id LIMIT 20",
            )?;
            let rows = stmt
                .query_map(params![MAX_DELIVERY_ATTEMPTS], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    for (id, to, subject, body) in pending {
        let result = match to.parse::<lettre::message::Mailbox>() {
            Ok(to) => match Message::builder()
                .from(from.clone())
                .to(to)
                .subject(subject)
                .header(ContentType::TEXT_PLAIN)
                .body(body)
            {
                Ok(msg) => smtp.send(msg).await.map(|_| ()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        state
            .run(move |ctx| {
                match &result {
                    // Delivered: the body (an OTP, a link's token) has left; the outbox keeps
                    // only the fact (M4).
                    Ok(()) => ctx.tx.execute(
                        "UPDATE outbox SET delivered_at = ?1, body = ?2 WHERE id = ?3",
                        params![ts(ctx.now), REDACTED_BODY, id],
                    )?,
                    Err(e) => {
                        tracing::warn!(id, error = %e, "mail not relayed");
                        ctx.tx.execute(
                            "UPDATE outbox SET delivery_attempts = delivery_attempts + 1,
                             last_error = ?1 WHERE id = ?2",
                            params![e, id],
                        )?
                    }
                };
                Ok(())
            })
            .await?;
    }
    Ok(())
}
