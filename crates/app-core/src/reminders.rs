//! Reminders of what has a deadline: a mailbox's expiry and its cessation, the registry
//! link that stops working at 24:00 Europe/Rome of the day after the change request, the
//! identity procedure's outcome changes (documents requested, the operator's checks done),
//! and a finished backup.
//!
//! The rules live here, without Tauri: [`schedule`] turns what the provider says (its
//! expiry windows, the registry's changes, its notifications) into reminders with the instant
//! each is due; [`Reminders`] remembers which ones were delivered, in a small file, so each
//! fires once per event across restarts; [`next_batch`] is the loop a front end runs after its
//! first screen, showing what it returns. Each reminder names the screen it opens
//! ([`ReminderTarget`]).
//!
//! Time is the provider's: the `Date` header of its answers (`pec_provider::Client::
//! provider_now`) and its own "today" in the expiry windows. A device clock that is off, or a
//! sandbox clock a test moved, cannot make a reminder early or late.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone as _, Utc};
use pec_provider::api::{
    ExpiryStatusData, MailboxExpiryView, NotificationKind, NotificationView, PecChangeState,
    PecChangeView,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::{Core, Result};

const FILE_NAME: &str = "reminders.json";

/// How long a delivered key is remembered: longer than any window (a year's expiry), so a
/// restart never repeats one, short enough that the file stays small.
const KEEP_FIRED_DAYS: i64 = 400;

/// How many delivered reminders the app lists (newest first).
const RECENT: usize = 20;

/// What a reminder is about; each kind can be turned off in the settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    /// The mailbox expires soon (the user's days before the expiry day).
    MailboxExpiry,
    /// The mailbox has expired and will be ceased, its messages lost, unless renewed.
    MailboxCessation,
    /// The registry's confirmation link stops working tonight at 24:00 (Europe/Rome).
    RegistryDeadline,
    /// The identity procedure changed: documents requested, checks finished.
    IdentityOutcome,
    /// A backup finished.
    BackupFinished,
}

/// The screen a reminder opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "screen", rename_all = "snake_case")]
pub enum ReminderTarget {
    /// The renewal of this mailbox.
    Renewal { address: String },
    /// The change of the PEC on record at the registry.
    Registry,
    /// The identity procedure of this mailbox.
    Identity { address: String },
    /// The folder a backup wrote to, by its opaque token (see [`crate::backup`]).
    BackupFolder { address: String, folder: String },
}

/// One reminder, in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Reminder {
    /// One per event (`expiry:<address>:<expires_on>`, …): delivered once.
    pub key: String,
    pub kind: ReminderKind,
    /// When it is due, on the provider's clock.
    pub due_at: DateTime<Utc>,
    pub title_it: String,
    pub title_en: String,
    pub body_it: String,
    pub body_en: String,
    pub target: ReminderTarget,
}

impl Reminder {
    pub fn title(&self, lang: pec_domain::Lang) -> &str {
        match lang {
            pec_domain::Lang::It => &self.title_it,
            pec_domain::Lang::En => &self.title_en,
        }
    }

    pub fn body(&self, lang: pec_domain::Lang) -> &str {
        match lang {
            pec_domain::Lang::It => &self.body_it,
            pec_domain::Lang::En => &self.body_en,
        }
    }
}

/// The user's choices (part of [`crate::Settings`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ReminderSettings {
    pub mailbox_expiry: bool,
    pub registry_deadline: bool,
    pub identity_outcome: bool,
    pub backup_finished: bool,
    /// How many days before the expiry day the expiry reminder comes (1–90).
    pub expiry_days_before: u32,
    /// Start the app (in the tray, no window) when the user logs in. Off unless chosen.
    pub autostart: bool,
    /// An icon in the system tray: the window, the next reminders, quit; closing the window
    /// then keeps the app running so reminders still come.
    pub tray: bool,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            mailbox_expiry: true,
            registry_deadline: true,
            identity_outcome: true,
            backup_finished: true,
            expiry_days_before: DEFAULT_EXPIRY_DAYS,
            autostart: false,
            tray: false,
        }
    }
}

pub const DEFAULT_EXPIRY_DAYS: u32 = 30;
pub const MAX_EXPIRY_DAYS: u32 = 90;

impl ReminderSettings {
    /// The settings as the screen sent them, or a refusal naming what is wrong.
    pub fn checked(self) -> Result<Self> {
        if !(1..=MAX_EXPIRY_DAYS).contains(&self.expiry_days_before) {
            return Err(crate::error::refusal(
                "reminders.days_out_of_range",
                "Indica un numero di giorni tra 1 e 90.",
                "Enter a number of days between 1 and 90.",
            ));
        }
        Ok(self)
    }

    fn wants(&self, kind: ReminderKind) -> bool {
        match kind {
            ReminderKind::MailboxExpiry | ReminderKind::MailboxCessation => self.mailbox_expiry,
            ReminderKind::RegistryDeadline => self.registry_deadline,
            ReminderKind::IdentityOutcome => self.identity_outcome,
            ReminderKind::BackupFinished => self.backup_finished,
        }
    }
}

/// What the provider said, at its `now`.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub expiries: Vec<MailboxExpiryView>,
    pub changes: Vec<PecChangeView>,
    pub notifications: Vec<NotificationView>,
}

/// Every reminder the facts call for, due or not yet, earliest first. A reminder whose event
/// is over (a mailbox renewed or ceased, a link used or expired, a notification read) is not
/// in the list.
pub fn schedule(facts: &Facts, now: DateTime<Utc>, settings: &ReminderSettings) -> Vec<Reminder> {
    let mut out = Vec::new();
    for m in &facts.expiries {
        out.extend(expiry_reminder(m, settings.expiry_days_before));
    }
    for c in &facts.changes {
        out.extend(registry_reminder(c, now));
    }
    for n in &facts.notifications {
        out.extend(identity_reminder(n, now));
    }
    out.retain(|r| settings.wants(r.kind));
    out.sort_by(|a, b| a.due_at.cmp(&b.due_at).then_with(|| a.key.cmp(&b.key)));
    out
}

/// The reminders of [`schedule`] that are due at `now`.
pub fn due(facts: &Facts, now: DateTime<Utc>, settings: &ReminderSettings) -> Vec<Reminder> {
    let mut all = schedule(facts, now, settings);
    all.retain(|r| r.due_at <= now);
    all
}

fn expiry_reminder(m: &MailboxExpiryView, days_before: u32) -> Option<Reminder> {
    let e = &m.expiry;
    let address = &m.address;
    let target = ReminderTarget::Renewal {
        address: address.clone(),
    };
    match e.status {
        ExpiryStatusData::Active | ExpiryStatusData::ExpiringSoon => {
            let day = e
                .expires_on
                .checked_sub_signed(TimeDelta::days(i64::from(days_before)))?;
            let expires = it_date(e.expires_on);
            Some(Reminder {
                key: format!("expiry:{address}:{}", e.expires_on),
                kind: ReminderKind::MailboxExpiry,
                due_at: rome_midnight(day)?,
                title_it: "Casella PEC in scadenza".into(),
                title_en: "PEC mailbox expiring".into(),
                body_it: format!("{address} scade il {expires}: rinnovala per non perderla."),
                body_en: format!(
                    "{address} expires on {}: renew it to keep it.",
                    en_date(e.expires_on)
                ),
                target,
            })
        }
        ExpiryStatusData::Expired => {
            let day = e.expires_on.checked_add_signed(TimeDelta::days(1))?;
            Some(Reminder {
                key: format!("cessation:{address}:{}", e.ceases_on),
                kind: ReminderKind::MailboxCessation,
                due_at: rome_midnight(day)?,
                title_it: "Casella PEC scaduta".into(),
                title_en: "PEC mailbox expired".into(),
                body_it: format!(
                    "{address} è scaduta: rinnovala entro il {}. Dal {} sarà cessata e i \
                     messaggi non saranno più recuperabili: salvali prima.",
                    it_date(e.renewable_until),
                    it_date(e.ceases_on)
                ),
                body_en: format!(
                    "{address} has expired: renew it by {}. From {} it will be ceased and its \
                     messages lost: save them first.",
                    en_date(e.renewable_until),
                    en_date(e.ceases_on)
                ),
                target,
            })
        }
        ExpiryStatusData::Ceased => None,
    }
}

/// Due from the start of the link's last day (00:00 Europe/Rome), while the link still works.
fn registry_reminder(c: &PecChangeView, now: DateTime<Utc>) -> Option<Reminder> {
    if c.state != PecChangeState::Pending || now >= c.deadline.expires_at {
        return None;
    }
    let last_day = c.deadline.valid_through;
    Some(Reminder {
        key: format!("registry:{}", c.id),
        kind: ReminderKind::RegistryDeadline,
        due_at: rome_midnight(last_day)?,
        title_it: "Conferma la nuova PEC entro oggi".into(),
        title_en: "Confirm the new PEC today".into(),
        body_it: format!(
            "Il link inviato a {} vale fino alle 24:00 del {} (ora italiana): aprilo dalla PEC \
             o incollalo nell'app.",
            c.new_pec,
            it_date(last_day)
        ),
        body_en: format!(
            "The link sent to {} works until 24:00 on {} (Italian time): open it from the PEC \
             or paste it into the app.",
            c.new_pec,
            en_date(last_day)
        ),
        target: ReminderTarget::Registry,
    })
}

/// The provider's own notice of an outcome change, while unread: due as soon as it is there
/// (its instant may be a fraction of a second after `now`, which `Date` gives to the second).
fn identity_reminder(n: &NotificationView, now: DateTime<Utc>) -> Option<Reminder> {
    if n.kind != NotificationKind::IdentityOutcome || n.read {
        return None;
    }
    Some(Reminder {
        key: format!("identity:{}", n.id),
        kind: ReminderKind::IdentityOutcome,
        due_at: n.created_at.min(now),
        title_it: n.title_it.clone(),
        title_en: n.title_en.clone(),
        body_it: n.body_it.clone(),
        body_en: n.body_en.clone(),
        target: ReminderTarget::Identity {
            address: n.mailbox.clone(),
        },
    })
}

/// 00:00 of `day` in Rome, as UTC (the first instant of the day where a DST change skips it).
fn rome_midnight(day: NaiveDate) -> Option<DateTime<Utc>> {
    let local = day.and_hms_opt(0, 0, 0)?;
    let rome = pec_domain::deadline::ROME;
    (0..3).find_map(|h| {
        rome.from_local_datetime(&(local + TimeDelta::hours(h)))
            .earliest()
            .map(|t| t.with_timezone(&Utc))
    })
}

const MESI: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

/// "3 ottobre 2027".
fn it_date(d: NaiveDate) -> String {
    use chrono::Datelike as _;
    let month = MESI.get(d.month0() as usize).copied().unwrap_or_default();
    format!("{} {month} {}", d.day(), d.year())
}

/// "3 October 2027".
fn en_date(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// What was delivered, kept in `<data>/reminders.json`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Ledger {
    /// Key → when it was delivered (provider time).
    fired: BTreeMap<String, DateTime<Utc>>,
    /// The last ones delivered, newest first, for the in-app list.
    recent: Vec<Reminder>,
}

/// The reminders of this run: what was delivered, what comes next, and the wake-up of the
/// delivery loop.
pub struct Reminders {
    path: PathBuf,
    /// Read from the file on first use, not at start (nothing on the way to the first screen).
    ledger: Mutex<Option<Ledger>>,
    /// Not yet due, earliest first (the tray's "next reminders").
    upcoming: Mutex<Vec<Reminder>>,
    /// Made here and not from the provider (a finished backup), waiting for the loop.
    queued: Mutex<Vec<Reminder>>,
    /// The registry changes last seen: the registry's session lasts one run and may be gone
    /// when the loop looks, but its link's deadline still matters.
    changes: Mutex<Vec<PecChangeView>>,
    /// The screen a reminder picked outside the page (the tray) asks the page to open.
    open: Mutex<Option<ReminderTarget>>,
    wake: Notify,
}

/// What the settings screen lists.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ReminderList {
    /// Delivered lately, newest first.
    pub recent: Vec<Reminder>,
    /// Coming, earliest first.
    pub upcoming: Vec<Reminder>,
}

impl Reminders {
    /// The reminders whose record of deliveries is in `data_dir` (read on first use; an
    /// unreadable file counts as nothing delivered).
    pub fn new(data_dir: &Path) -> Reminders {
        Reminders {
            path: data_dir.join(FILE_NAME),
            ledger: Mutex::new(None),
            upcoming: Mutex::default(),
            queued: Mutex::default(),
            changes: Mutex::default(),
            open: Mutex::default(),
            wake: Notify::new(),
        }
    }

    /// Keeps the reminders not delivered yet, records them as delivered (at `now`) and
    /// returns them. Each key passes once, ever.
    pub fn take_new(&self, candidates: Vec<Reminder>, now: DateTime<Utc>) -> Vec<Reminder> {
        let mut guard = crate::lock(&self.ledger);
        let ledger = guard.get_or_insert_with(|| self.load());
        let fresh: Vec<Reminder> = candidates
            .into_iter()
            .filter(|r| !ledger.fired.contains_key(&r.key))
            .collect();
        if fresh.is_empty() {
            return fresh;
        }
        for r in &fresh {
            ledger.fired.insert(r.key.clone(), now);
            ledger.recent.insert(0, r.clone());
        }
        ledger.recent.truncate(RECENT);
        if let Some(oldest) = now.checked_sub_signed(TimeDelta::days(KEEP_FIRED_DAYS)) {
            ledger.fired.retain(|_, at| *at >= oldest);
        }
        if let Err(e) = crate::settings::write_atomic(&self.path, &*ledger) {
            // Worst case a reminder comes again after a restart.
            tracing::warn!(error = %e, "could not save the delivered reminders");
        }
        fresh
    }

    /// The reminders delivered lately, newest first.
    pub fn recent(&self) -> Vec<Reminder> {
        let mut guard = crate::lock(&self.ledger);
        guard.get_or_insert_with(|| self.load()).recent.clone()
    }

    fn load(&self) -> Ledger {
        std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// The next reminders, earliest first.
    pub fn upcoming(&self) -> Vec<Reminder> {
        crate::lock(&self.upcoming).clone()
    }

    /// Both lists, for the settings screen.
    pub fn list(&self) -> ReminderList {
        ReminderList {
            recent: self.recent(),
            upcoming: self.upcoming(),
        }
    }

    /// The reminder with `key`, delivered or coming (a tray item names it by key).
    pub fn find(&self, key: &str) -> Option<Reminder> {
        let list = self.list();
        list.recent
            .into_iter()
            .chain(list.upcoming)
            .find(|r| r.key == key)
    }

    /// Asks the page to open `target` (taken once by [`Reminders::take_open`]).
    pub fn request_open(&self, target: ReminderTarget) {
        *crate::lock(&self.open) = Some(target);
    }

    /// The screen to open, once.
    pub fn take_open(&self) -> Option<ReminderTarget> {
        crate::lock(&self.open).take()
    }

    /// Queues a reminder made by the app itself and wakes the loop.
    pub fn queue(&self, reminder: Reminder) {
        crate::lock(&self.queued).push(reminder);
        self.wake.notify_one();
    }

    /// Makes the loop look again now (settings changed, a registry change was requested).
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Saves the settings screen's choices and looks again with them.
pub fn save_settings(core: &Core, settings: ReminderSettings) -> Result<ReminderSettings> {
    let settings = settings.checked()?;
    let saved = core.settings.update(|s| s.reminders = settings)?;
    core.reminders.wake();
    Ok(saved.reminders)
}

/// The reminder of a finished backup; it opens the folder written to.
pub fn backup_finished(address: &str, folder_token: &str, saved: u64) -> Reminder {
    let now = Utc::now();
    Reminder {
        key: format!("backup:{address}:{}", now.timestamp_millis()),
        kind: ReminderKind::BackupFinished,
        due_at: now,
        title_it: "Salvataggio completato".into(),
        title_en: "Backup finished".into(),
        body_it: format!("I messaggi di {address} sono salvati ({saved} nuovi)."),
        body_en: format!("The messages of {address} are saved ({saved} new)."),
        target: ReminderTarget::BackupFolder {
            address: address.to_owned(),
            folder: folder_token.to_owned(),
        },
    }
}

/// Asks the provider what is due now and returns what was not delivered before. Signed out,
/// only the app's own reminders come.
pub async fn check(core: &Core) -> Result<Vec<Reminder>> {
    let settings = core.settings.get().reminders;
    let queued = std::mem::take(&mut *crate::lock(&core.reminders.queued));
    let mut candidates: Vec<Reminder> = queued
        .into_iter()
        .filter(|r| settings.wants(r.kind))
        .collect();
    let mut now = Utc::now();
    if core.conn.account().await.is_some() {
        let facts = facts(core).await?;
        let client = core.conn.client().await?;
        now = match client.provider_now() {
            Some(t) => t,
            None => client.fetch_provider_now().await?,
        };
        let all = schedule(&facts, now, &settings);
        let (due, later): (Vec<_>, Vec<_>) = all.into_iter().partition(|r| r.due_at <= now);
        *crate::lock(&core.reminders.upcoming) = later;
        candidates.extend(due);
    }
    Ok(core.reminders.take_new(candidates, now))
}

async fn facts(core: &Core) -> Result<Facts> {
    let expiries = core.conn.authed(|c| c.mailbox_expiries()).await?;
    let notifications = core.conn.authed(|c| c.notifications()).await?;
    let client = core.conn.client().await?;
    // Outside the registry's private area this fails: the changes seen last stay.
    if let Ok(changes) = client.pec_changes().await {
        *crate::lock(&core.reminders.changes) = changes;
    }
    let changes = crate::lock(&core.reminders.changes).clone();
    Ok(Facts {
        expiries,
        changes,
        notifications,
    })
}

/// Waits until the next look is due (`every`, or sooner when woken) and returns the new
/// reminders. A failed look (provider unreachable, session expired) is logged and returns
/// nothing: the next one tries again.
pub async fn next_batch(core: &Core, every: Duration) -> Vec<Reminder> {
    let _ = tokio::time::timeout(every, core.reminders.wake.notified()).await;
    match check(core).await {
        Ok(batch) => {
            if !batch.is_empty() {
                tracing::info!(count = batch.len(), "reminders due");
            }
            batch
        }
        Err(e) => {
            tracing::info!(code = %e.code(), "reminders: could not ask the provider");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pec_domain::mailbox::RenewalPolicy;
    use pec_provider::api::{ExpiryView, LinkDeadlineData};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn expiry(address: &str, expires_on: &str, today: &str) -> MailboxExpiryView {
        MailboxExpiryView {
            address: address.into(),
            expiry: ExpiryView::compute(d(expires_on), d(today), RenewalPolicy::default()),
        }
    }

    fn change(id: &str, state: PecChangeState, received: &str) -> PecChangeView {
        let deadline = pec_domain::deadline::LinkDeadline::for_receipt(t(received));
        PecChangeView {
            id: id.into(),
            old_pec: "old@pec.example.it".into(),
            new_pec: "new@pec.example.it".into(),
            state,
            state_label_it: state.label_it().into(),
            deadline: LinkDeadlineData::from(deadline),
            confirmed_at: None,
            notice_it: String::new(),
            notice_en: String::new(),
        }
    }

    fn notification(id: &str, kind: NotificationKind, read: bool) -> NotificationView {
        NotificationView {
            id: id.into(),
            kind,
            mailbox: "studio@pec.example.it".into(),
            title_it: "Documenti richiesti".into(),
            title_en: "Documents requested".into(),
            body_it: "Invia la visura".into(),
            body_en: "Send the extract".into(),
            created_at: t("2027-03-01T10:00:00Z"),
            read,
        }
    }

    #[test]
    fn the_expiry_reminder_is_due_the_chosen_days_before_at_midnight_in_rome() {
        let settings = ReminderSettings::default();
        let facts = Facts {
            expiries: vec![expiry("studio@pec.example.it", "2027-10-03", "2027-06-01")],
            ..Facts::default()
        };
        let all = schedule(&facts, t("2027-06-01T08:00:00Z"), &settings);
        assert_eq!(all.len(), 1);
        let r = &all[0];
        assert_eq!(r.kind, ReminderKind::MailboxExpiry);
        assert_eq!(r.key, "expiry:studio@pec.example.it:2027-10-03");
        // 30 days before 3 October is 3 September; 00:00 in Rome (CEST) is 22:00 UTC before.
        assert_eq!(r.due_at, t("2027-09-02T22:00:00Z"));
        assert!(r.body_it.contains("3 ottobre 2027"), "{}", r.body_it);
        assert!(r.body_en.contains("3 October 2027"), "{}", r.body_en);
        assert_eq!(
            r.target,
            ReminderTarget::Renewal {
                address: "studio@pec.example.it".into()
            }
        );
        assert!(due(&facts, t("2027-09-02T21:59:59Z"), &settings).is_empty());
        assert_eq!(due(&facts, t("2027-09-02T22:00:00Z"), &settings).len(), 1);

        let seven = ReminderSettings {
            expiry_days_before: 7,
            ..settings
        };
        assert_eq!(
            schedule(&facts, t("2027-06-01T08:00:00Z"), &seven)[0].due_at,
            t("2027-09-25T22:00:00Z")
        );
    }

    #[test]
    fn an_expired_mailbox_reminds_of_its_cessation_a_ceased_one_of_nothing() {
        let settings = ReminderSettings::default();
        let expired = Facts {
            expiries: vec![expiry("studio@pec.example.it", "2027-01-31", "2027-02-05")],
            ..Facts::default()
        };
        let r = &due(&expired, t("2027-02-05T09:00:00Z"), &settings)[0];
        assert_eq!(r.kind, ReminderKind::MailboxCessation);
        assert!(
            r.key.starts_with("cessation:studio@pec.example.it:"),
            "{}",
            r.key
        );
        assert!(r.body_it.contains("non saranno più recuperabili"));
        let ceased = Facts {
            expiries: vec![expiry("studio@pec.example.it", "2025-01-31", "2027-02-05")],
            ..Facts::default()
        };
        assert!(schedule(&ceased, t("2027-02-05T09:00:00Z"), &settings).is_empty());
    }

    #[test]
    fn the_registry_link_reminds_on_its_last_day_only_while_pending() {
        let settings = ReminderSettings::default();
        // Received 10 March 15:00 in Rome: valid through 11 March, 24:00.
        let facts = Facts {
            changes: vec![
                change("chg-1", PecChangeState::Pending, "2027-03-10T14:00:00Z"),
                change("chg-0", PecChangeState::Superseded, "2027-03-10T13:00:00Z"),
            ],
            ..Facts::default()
        };
        let all = schedule(&facts, t("2027-03-10T14:00:01Z"), &settings);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].key, "registry:chg-1");
        assert_eq!(all[0].due_at, t("2027-03-10T23:00:00Z"));
        assert_eq!(all[0].target, ReminderTarget::Registry);
        assert!(
            all[0].body_it.contains("11 marzo 2027"),
            "{}",
            all[0].body_it
        );
        assert!(due(&facts, t("2027-03-10T22:59:00Z"), &settings).is_empty());
        assert_eq!(due(&facts, t("2027-03-11T07:00:00Z"), &settings).len(), 1);
        // At 24:00 the link is dead: nothing to remind of.
        assert!(due(&facts, t("2027-03-11T23:00:00Z"), &settings).is_empty());
    }

    #[test]
    fn identity_outcomes_remind_while_unread_and_open_the_procedure() {
        let settings = ReminderSettings::default();
        let facts = Facts {
            notifications: vec![
                notification("7", NotificationKind::IdentityOutcome, false),
                notification("6", NotificationKind::IdentityOutcome, true),
                notification("5", NotificationKind::Security, false),
                notification("banner:x", NotificationKind::IdentityBanner, false),
            ],
            ..Facts::default()
        };
        let all = due(&facts, t("2027-03-01T10:00:00Z"), &settings);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].key, "identity:7");
        assert_eq!(
            all[0].target,
            ReminderTarget::Identity {
                address: "studio@pec.example.it".into()
            }
        );
    }

    #[test]
    fn a_kind_turned_off_is_not_scheduled() {
        let facts = Facts {
            expiries: vec![expiry("a@pec.example.it", "2027-01-31", "2027-02-05")],
            notifications: vec![notification("7", NotificationKind::IdentityOutcome, false)],
            changes: vec![change("c", PecChangeState::Pending, "2027-03-10T14:00:00Z")],
        };
        let now = t("2027-03-11T07:00:00Z");
        let off = ReminderSettings {
            mailbox_expiry: false,
            registry_deadline: false,
            identity_outcome: false,
            ..ReminderSettings::default()
        };
        assert_eq!(due(&facts, now, &ReminderSettings::default()).len(), 3);
        assert!(due(&facts, now, &off).is_empty());
    }

    #[test]
    fn each_event_is_delivered_once_even_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let facts = Facts {
            notifications: vec![notification("7", NotificationKind::IdentityOutcome, false)],
            ..Facts::default()
        };
        let now = t("2027-03-01T10:00:00Z");
        let settings = ReminderSettings::default();
        let first = Reminders::new(dir.path());
        assert_eq!(first.take_new(due(&facts, now, &settings), now).len(), 1);
        assert!(first.take_new(due(&facts, now, &settings), now).is_empty());
        assert_eq!(first.recent().len(), 1);
        let again = Reminders::new(dir.path());
        assert!(again.take_new(due(&facts, now, &settings), now).is_empty());
        assert_eq!(again.recent()[0].key, "identity:7");
        // A renewed mailbox's next expiry is a new event.
        let renewed = Facts {
            expiries: vec![expiry("a@pec.example.it", "2028-01-31", "2028-01-10")],
            ..Facts::default()
        };
        let later = t("2028-01-10T10:00:00Z");
        assert_eq!(
            again.take_new(due(&renewed, later, &settings), later).len(),
            1
        );
    }

    #[test]
    fn out_of_range_days_are_refused() {
        for days in [0, 91] {
            let s = ReminderSettings {
                expiry_days_before: days,
                ..ReminderSettings::default()
            };
            assert_eq!(
                s.checked().unwrap_err().code(),
                "reminders.days_out_of_range"
            );
        }
        assert!(ReminderSettings::default().checked().is_ok());
    }

    #[test]
    fn settings_files_without_reminders_get_the_defaults() {
        let s: crate::Settings = serde_json::from_str(r#"{"language":"it"}"#).unwrap();
        assert_eq!(s.reminders, ReminderSettings::default());
        assert!(!s.reminders.autostart && !s.reminders.tray);
        let s: crate::Settings =
            serde_json::from_str(r#"{"reminders":{"expiry_days_before":7}}"#).unwrap();
        assert_eq!(s.reminders.expiry_days_before, 7);
        assert!(s.reminders.mailbox_expiry);
    }
}
