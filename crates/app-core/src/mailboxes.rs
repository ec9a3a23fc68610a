//! The shell's view of the account: its mailboxes, the provider's notifications, and the
//! expiry of every mailbox (one provider call for the whole account).

use pec_provider::api::{MailboxExpiryView, MailboxView, NotificationView};

use crate::{Core, Result};

/// The account's mailboxes; the IMAPS server published for each is kept for the backup
/// (the only host it connects to, see [`crate::backup::learn_servers`]).
pub async fn list(core: &Core) -> Result<Vec<MailboxView>> {
    let list = core.conn.authed(|c| c.mailboxes()).await?;
    crate::backup::learn_servers(core, &list);
    Ok(list)
}

pub async fn notifications(core: &Core) -> Result<Vec<NotificationView>> {
    core.conn.authed(|c| c.notifications()).await
}

pub async fn mark_notification_read(core: &Core, id: &str) -> Result<()> {
    core.conn
        .authed(move |c| c.mark_notification_read(id))
        .await
}

/// Days to expiry, reminder, grace period and cessation day of every mailbox, computed by the
/// provider with its own windows, in one call however many mailboxes the account holds.
pub async fn expiries(core: &Core) -> Result<Vec<MailboxExpiryView>> {
    core.conn.authed(|c| c.mailbox_expiries()).await
}
