//! The shell's view of the account: its mailboxes, the provider's notifications, and the
//! expiry of every mailbox (one provider call for the whole account).

use pec_provider::api::{MailboxExpiryView, MailboxView, NotificationView};

use crate::{Core, Result};

pub async fn list(core: &Core) -> Result<Vec<MailboxView>> {
    core.conn.authed(|c| c.mailboxes()).await
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
