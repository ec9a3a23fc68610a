//! The tray icon's menu, as data: what it lists and what a click on each entry does. The
//! shell only draws it (`src-tauri/src/reminders.rs`), so the entries, their text in both
//! languages and the meaning of an id are tested here without a desktop.

use std::time::Duration;

use pec_domain::Lang;

use crate::reminders::Reminder;

/// How many of the next reminders the menu lists.
pub const NEXT: usize = 3;

/// One line of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Item {
        id: String,
        label: String,
        enabled: bool,
    },
    Separator,
}

/// What a click on the entry with some id asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    ShowWindow,
    /// Open the screen of the reminder with this key.
    Open(String),
    Quit,
}

const SHOW: &str = "show";
const QUIT: &str = "quit";
const OPEN: &str = "open:";

fn item(id: impl Into<String>, label: impl Into<String>, enabled: bool) -> Entry {
    Entry::Item {
        id: id.into(),
        label: label.into(),
        enabled,
    }
}

/// Show the window; the next reminders (each opens its screen), dated in Europe/Rome; quit.
pub fn menu(lang: Lang, upcoming: &[Reminder]) -> Vec<Entry> {
    let it = lang == Lang::It;
    let t = |i: &'static str, e: &'static str| if it { i } else { e };
    let mut out = vec![
        item(SHOW, t("Mostra la finestra", "Show the window"), true),
        Entry::Separator,
    ];
    if upcoming.is_empty() {
        out.push(item(
            "none",
            t("Nessun promemoria in arrivo", "No reminders coming"),
            false,
        ));
    }
    for r in upcoming.iter().take(NEXT) {
        let day = r
            .due_at
            .with_timezone(&pec_domain::deadline::ROME)
            .format("%d/%m/%Y");
        out.push(item(
            format!("{OPEN}{}", r.key),
            format!("{day} · {}", r.title(lang)),
            true,
        ));
    }
    out.push(Entry::Separator);
    out.push(item(QUIT, t("Esci", "Quit"), true));
    out
}

/// The action of a menu id (`None` for an id the menu never gives).
pub fn action(id: &str) -> Option<Action> {
    match id {
        SHOW => Some(Action::ShowWindow),
        QUIT => Some(Action::Quit),
        _ => id
            .strip_prefix(OPEN)
            .filter(|k| !k.is_empty())
            .map(|k| Action::Open(k.to_owned())),
    }
}

/// How often the provider is asked for reminders: every quarter of an hour.
/// `PEC_REMINDER_EVERY_SECS` shortens it for the end-to-end tests, which move the sandbox's
/// clock and wait for the reminder.
pub fn check_every() -> Duration {
    every_from(std::env::var("PEC_REMINDER_EVERY_SECS").ok().as_deref())
}

fn every_from(var: Option<&str>) -> Duration {
    var.and_then(|s| s.parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(Duration::from_secs(15 * 60), Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::reminders::{ReminderKind, ReminderTarget};

    fn reminder(key: &str, day: u32) -> Reminder {
        Reminder {
            key: key.to_owned(),
            kind: ReminderKind::MailboxExpiry,
            // 23:30 UTC is already the next day in Rome.
            due_at: Utc.with_ymd_and_hms(2027, 3, day, 23, 30, 0).unwrap(),
            title_it: "La PEC scade".into(),
            title_en: "The PEC expires".into(),
            body_it: String::new(),
            body_en: String::new(),
            target: ReminderTarget::Registry,
        }
    }

    fn labels(entries: &[Entry]) -> Vec<String> {
        entries
            .iter()
            .map(|e| match e {
                Entry::Item { label, .. } => label.clone(),
                Entry::Separator => "-".into(),
            })
            .collect()
    }

    #[test]
    fn with_nothing_coming_the_menu_says_so_and_can_still_quit() {
        let m = menu(Lang::It, &[]);
        assert_eq!(
            labels(&m),
            [
                "Mostra la finestra",
                "-",
                "Nessun promemoria in arrivo",
                "-",
                "Esci"
            ]
        );
        assert!(matches!(&m[2], Entry::Item { enabled: false, .. }));
    }

    #[test]
    fn the_next_three_are_listed_by_their_day_in_rome_and_open_their_screen() {
        let next: Vec<Reminder> = (1..=5).map(|d| reminder(&format!("k{d}"), d)).collect();
        let m = menu(Lang::En, &next);
        assert_eq!(
            labels(&m),
            [
                "Show the window",
                "-",
                "02/03/2027 · The PEC expires",
                "03/03/2027 · The PEC expires",
                "04/03/2027 · The PEC expires",
                "-",
                "Quit"
            ]
        );
        let Entry::Item { id, .. } = &m[2] else {
            panic!("an item")
        };
        assert_eq!(action(id), Some(Action::Open("k1".into())));
    }

    #[test]
    fn ids_map_to_actions_and_nothing_else_does() {
        assert_eq!(action("show"), Some(Action::ShowWindow));
        assert_eq!(action("quit"), Some(Action::Quit));
        assert_eq!(action("open:"), None);
        assert_eq!(action("none"), None);
        assert_eq!(action("exit"), None);
    }

    #[test]
    fn the_check_interval_is_a_quarter_of_an_hour_unless_a_test_shortens_it() {
        assert_eq!(every_from(None), Duration::from_secs(900));
        assert_eq!(every_from(Some("2")), Duration::from_secs(2));
        assert_eq!(every_from(Some("0")), Duration::from_secs(900));
        assert_eq!(every_from(Some("soon")), Duration::from_secs(900));
    }
}
