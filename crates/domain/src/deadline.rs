//! "Valid until 24:00 of the day after receipt", in Europe/Rome.
//!
//! Seed 003 (OAM, change of PEC address): the confirmation link sent to the new PEC "è da ritenersi
//! valido entro e non oltre le ore 24 del giorno successivo la ricezione". The day is the Italian
//! calendar day, whatever the user's or server's time zone, so the rule is computed in Europe/Rome:
//! a receipt on local day D expires at 24:00 of D+1, i.e. at 00:00 of D+2, local time.
//!
//! Working in local calendar days and converting the resulting local midnight back to UTC is what
//! keeps the rule right across daylight-saving changes: "add 48 hours" would be an hour off on the
//! weekends of the spring-forward and fall-back changes. Italy changes clocks at 02:00/03:00 today,
//! but from 1966 to 1979 it changed them at midnight (IANA tz database, `zdump -v Europe/Rome`):
//! on those days local 00:00 either did not exist or happened twice. The conversion handles both,
//! so a rule change (or a record dated back then) still gets the right deadline.
//!
//! Functions take `now` as a parameter: this crate reads no clock, so every result is testable.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The time zone of every Italian legal deadline.
pub const ROME: Tz = chrono_tz::Europe::Rome;

/// The deadline of a confirmation link, as the API reports it.
///
/// JSON: `{"received_at": "...Z", "valid_through": "2026-03-29", "expires_at": "...Z"}`.
/// `valid_through` is the Italian calendar day the user is told ("entro le 24:00 del 29/03");
/// `expires_at` is the exact instant a server or a countdown compares against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkDeadline {
    /// When the PEC carrying the link was received.
    pub received_at: DateTime<Utc>,
    /// The last Italian calendar day on which the link works (receipt day + 1).
    pub valid_through: NaiveDate,
    /// The first instant at which the link no longer works (00:00 Europe/Rome after `valid_through`).
    pub expires_at: DateTime<Utc>,
}

impl LinkDeadline {
    /// The deadline of a link received at `received_at`.
    pub fn for_receipt(received_at: DateTime<Utc>) -> Self {
        let received_on = received_at.with_timezone(&ROME).date_naive();
        let valid_through = received_on
            .checked_add_days(Days::new(1))
            .unwrap_or(NaiveDate::MAX);
        Self {
            received_at,
            valid_through,
            expires_at: end_of_local_day(valid_through),
        }
    }

    /// Whether the link no longer works at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        is_expired(self.expires_at, now)
    }

    /// Time left at `now`, for a countdown; `None` once expired.
    pub fn remaining(&self, now: DateTime<Utc>) -> Option<TimeDelta> {
        (!self.is_expired(now)).then(|| self.expires_at - now)
    }
}

/// The instant a link received at `received_at` expires: 24:00 Europe/Rome of the day after receipt.
pub fn confirmation_deadline(received_at: DateTime<Utc>) -> DateTime<Utc> {
    LinkDeadline::for_receipt(received_at).expires_at
}

/// Whether `deadline` has passed at `now`.
///
/// "Entro e non oltre le ore 24": the instant 24:00 itself is already too late, so a deadline
/// equal to `now` is expired.
pub fn is_expired(deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= deadline
}

/// 24:00 of `day` in Rome (= 00:00 of the next day), as UTC.
fn end_of_local_day(day: NaiveDate) -> DateTime<Utc> {
    match day.checked_add_days(Days::new(1)) {
        Some(next) => start_of_local_day(next),
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The first instant of `day` in Rome, as UTC.
fn start_of_local_day(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    match ROME.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        // Clocks went back over midnight: the day starts at the first of the two midnights.
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // Clocks jumped over midnight: the day starts at the first local time that exists.
        // Gaps are at most a few hours; the offset before the gap gives that instant directly.
        LocalResult::None => {
            let before = ROME.offset_from_utc_datetime(&(midnight - TimeDelta::hours(12)));
            let offset = TimeDelta::seconds(i64::from(before.fix().local_minus_utc()));
            Utc.from_utc_datetime(&(midnight - offset))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[track_caller]
    fn check(received: &str, valid_through: &str, expires: &str) {
        let d = LinkDeadline::for_receipt(utc(received));
        assert_eq!(
            d.valid_through,
            day(valid_through),
            "valid_through for {received}"
        );
        assert_eq!(d.expires_at, utc(expires), "expires_at for {received}");
        assert_eq!(confirmation_deadline(utc(received)), utc(expires));
    }

    #[test]
    fn ordinary_winter_day() {
        // 11:00 CET on 22 Nov → 24:00 CET on 23 Nov = 23:00Z.
        check("2026-11-22T10:00:00Z", "2026-11-23", "2026-11-23T23:00:00Z");
    }

    #[test]
    fn ordinary_summer_day() {
        check("2026-07-14T10:00:00Z", "2026-07-15", "2026-07-15T22:00:00Z");
    }

    #[test]
    fn around_local_midnight() {
        // 23:59:59 CET on 22 Nov is still day 22.
        check("2026-11-22T22:59:59Z", "2026-11-23", "2026-11-23T23:00:00Z");
        // 00:00 CET on 23 Nov, though still 22 Nov in UTC, is day 23.
        check("2026-11-22T23:00:00Z", "2026-11-24", "2026-11-24T23:00:00Z");
        // Summer: local midnight is 22:00Z.
        check("2026-07-14T21:59:59Z", "2026-07-15", "2026-07-15T22:00:00Z");
        check("2026-07-14T22:00:00Z", "2026-07-16", "2026-07-16T22:00:00Z");
        check("2026-07-14T22:30:00Z", "2026-07-16", "2026-07-16T22:00:00Z");
    }

    #[test]
    fn spring_forward_weekend_2026() {
        // Clocks go 02:00 CET → 03:00 CEST on Sunday 29 March 2026.
        // Friday 27: deadline is midnight starting Sunday, still CET.
        check("2026-03-27T12:00:00Z", "2026-03-28", "2026-03-28T23:00:00Z");
        // Saturday 28: deadline is midnight starting Monday, already CEST: 34 h, not 35.
        check("2026-03-28T12:00:00Z", "2026-03-29", "2026-03-29T22:00:00Z");
        let d = LinkDeadline::for_receipt(utc("2026-03-28T12:00:00Z"));
        assert_eq!(d.expires_at - d.received_at, TimeDelta::hours(34));
        // Saturday 23:30 CET.
        check("2026-03-28T22:30:00Z", "2026-03-29", "2026-03-29T22:00:00Z");
        // Sunday 00:30 CET, 01:59 CET, 03:00 CEST (the hour 02:xx does not exist).
        check("2026-03-28T23:30:00Z", "2026-03-30", "2026-03-30T22:00:00Z");
        check("2026-03-29T00:59:00Z", "2026-03-30", "2026-03-30T22:00:00Z");
        check("2026-03-29T01:00:00Z", "2026-03-30", "2026-03-30T22:00:00Z");
        // Sunday 23:59 CEST.
        check("2026-03-29T21:59:00Z", "2026-03-30", "2026-03-30T22:00:00Z");
    }

    #[test]
    fn fall_back_weekend_2026() {
        // Clocks go 03:00 CEST → 02:00 CET on Sunday 25 October 2026.
        check("2026-10-23T12:00:00Z", "2026-10-24", "2026-10-24T22:00:00Z");
        // Saturday 24: deadline is midnight starting Monday, CET: 35 h, not 34.
        check("2026-10-24T12:00:00Z", "2026-10-25", "2026-10-25T23:00:00Z");
        let d = LinkDeadline::for_receipt(utc("2026-10-24T12:00:00Z"));
        assert_eq!(d.expires_at - d.received_at, TimeDelta::hours(35));
        // Saturday 23:59 CEST.
        check("2026-10-24T21:59:00Z", "2026-10-25", "2026-10-25T23:00:00Z");
        // Sunday 00:00 CEST.
        check("2026-10-24T22:00:00Z", "2026-10-26", "2026-10-26T23:00:00Z");
        // 02:30 happens twice: first in CEST (00:30Z), then in CET (01:30Z). Same day, same deadline.
        check("2026-10-25T00:30:00Z", "2026-10-26", "2026-10-26T23:00:00Z");
        check("2026-10-25T01:30:00Z", "2026-10-26", "2026-10-26T23:00:00Z");
        // Sunday 23:59 CET.
        check("2026-10-25T22:59:00Z", "2026-10-26", "2026-10-26T23:00:00Z");
    }

    #[test]
    fn expiry_is_exclusive_of_the_instant() {
        let d = LinkDeadline::for_receipt(utc("2026-11-22T10:00:00Z"));
        let before = utc("2026-11-23T22:59:59Z");
        let at = utc("2026-11-23T23:00:00Z");
        assert!(!d.is_expired(before));
        assert!(d.is_expired(at));
        assert!(is_expired(d.expires_at, utc("2026-12-01T00:00:00Z")));
        assert_eq!(d.remaining(before), Some(TimeDelta::seconds(1)));
        assert_eq!(d.remaining(at), None);
    }

    #[test]
    fn json_contract() {
        let d = LinkDeadline::for_receipt(utc("2026-03-28T12:00:00Z"));
        let v = serde_json::to_value(d).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "received_at": "2026-03-28T12:00:00Z",
                "valid_through": "2026-03-29",
                "expires_at": "2026-03-29T22:00:00Z"
            })
        );
        let back: LinkDeadline = serde_json::from_value(v).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn start_of_day_is_local_midnight_all_year() {
        let mut d = day("2026-01-01");
        while d < day("2027-01-01") {
            let t = start_of_local_day(d).with_timezone(&ROME);
            assert_eq!((t.date_naive(), t.hour(), t.minute()), (d, 0, 0));
            d = d.succ_opt().unwrap();
        }
    }

    #[test]
    fn midnight_clock_changes_of_the_1970s() {
        // 26 May 1974: 00:00 CET → 01:00 CEST, so that day starts at 01:00 local (23:00Z).
        check("1974-05-24T10:00:00Z", "1974-05-25", "1974-05-25T23:00:00Z");
        let t = confirmation_deadline(utc("1974-05-24T10:00:00Z")).with_timezone(&ROME);
        assert_eq!(
            (t.date_naive(), t.hour(), t.minute()),
            (day("1974-05-26"), 1, 0)
        );
        // 29 Sep 1974: 01:00 CEST → 00:00 CET, so 00:00 happens twice; the day starts at the first.
        check("1974-09-27T10:00:00Z", "1974-09-28", "1974-09-28T22:00:00Z");
    }

    proptest! {
        #[test]
        fn deadline_is_local_midnight_two_days_later(secs in 0i64..4_102_444_800) {
            let received = DateTime::from_timestamp(secs, 0).unwrap();
            let d = LinkDeadline::for_receipt(received);
            let local_received = received.with_timezone(&ROME).date_naive();
            let local_deadline = d.expires_at.with_timezone(&ROME);
            // The deadline is the first instant of local day D+2: on that day, and one second
            // earlier it is still D+1. That is 00:00, unless the clocks skipped midnight.
            prop_assert_eq!(local_deadline.date_naive(), local_received + Days::new(2));
            let just_before = (d.expires_at - TimeDelta::seconds(1)).with_timezone(&ROME);
            prop_assert_eq!(just_before.date_naive(), local_received + Days::new(1));
            let midnight = (local_received + Days::new(2)).and_time(NaiveTime::MIN);
            if ROME.from_local_datetime(&midnight) != LocalResult::None {
                prop_assert_eq!((local_deadline.hour(), local_deadline.minute(), local_deadline.second()), (0, 0, 0));
            }
            let span = d.expires_at - received;
            prop_assert!(span > TimeDelta::hours(23) && span <= TimeDelta::hours(49));
            prop_assert!(!d.is_expired(received));
        }
    }
}
