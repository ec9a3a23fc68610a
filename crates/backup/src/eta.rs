//! The time a backup has left, from its pace so far.
//!
//! Bytes, not messages: a mailbox's attachments make a few messages most of its size. The pace
//! is that of this run only (what an earlier run saved is skipped at no cost), measured from
//! the first message saved, and no estimate is given before there is enough to go on: an
//! early guess from one small message would promise seconds for hours of work.

use std::time::{Duration, Instant};

use crate::{Phase, Progress};

/// No estimate before this much saving has been watched.
const MIN_WATCHED: Duration = Duration::from_secs(2);

/// Estimates the time left of one run; feed it every progress report.
#[derive(Debug, Default)]
pub struct Eta {
    /// When saving was first seen, and the bytes already there then.
    start: Option<(Instant, u64)>,
}

impl Eta {
    pub fn new() -> Eta {
        Eta::default()
    }

    /// The seconds left after `p`, seen at `now`; `None` while unknown (listing, verifying,
    /// too early, nothing moving).
    pub fn update(&mut self, p: &Progress, now: Instant) -> Option<u64> {
        if p.phase != Phase::Saving || p.bytes_total == 0 {
            return None;
        }
        let (started, bytes_at_start) = *self.start.get_or_insert((now, p.bytes));
        let watched = now.saturating_duration_since(started);
        let moved = p.bytes.saturating_sub(bytes_at_start);
        if watched < MIN_WATCHED || moved == 0 {
            return None;
        }
        let left = p.bytes_total.saturating_sub(p.bytes);
        let seconds = watched.as_secs_f64() * (left as f64) / (moved as f64);
        Some(seconds.ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn saving(bytes: u64, bytes_total: u64) -> Progress {
        Progress {
            phase: Phase::Saving,
            done: 0,
            total: 10,
            bytes,
            bytes_total,
            eta_seconds: None,
            folder: Some("INBOX".into()),
        }
    }

    #[test]
    fn the_time_left_follows_this_runs_pace_in_bytes() {
        let t0 = Instant::now();
        let mut eta = Eta::new();
        // 40 MB were saved by an earlier run: they do not count towards the pace.
        assert_eq!(eta.update(&saving(40_000_000, 100_000_000), t0), None);
        // Too early to tell.
        assert_eq!(
            eta.update(
                &saving(41_000_000, 100_000_000),
                t0 + Duration::from_secs(1)
            ),
            None
        );
        // 10 MB in 4 s: 50 MB left take 20 s.
        assert_eq!(
            eta.update(
                &saving(50_000_000, 100_000_000),
                t0 + Duration::from_secs(4)
            ),
            Some(20)
        );
        assert_eq!(
            eta.update(
                &saving(100_000_000, 100_000_000),
                t0 + Duration::from_secs(24)
            ),
            Some(0)
        );
    }

    #[test]
    fn no_estimate_outside_saving_or_without_sizes() {
        let t0 = Instant::now();
        let mut eta = Eta::new();
        let mut listing = saving(0, 0);
        listing.phase = Phase::Listing;
        assert_eq!(eta.update(&listing, t0), None);
        assert_eq!(eta.update(&saving(0, 0), t0 + Duration::from_secs(9)), None);
        let mut verifying = saving(5, 10);
        verifying.phase = Phase::Verifying;
        assert_eq!(eta.update(&verifying, t0 + Duration::from_secs(9)), None);
        // Stalled: nothing moved since the start.
        let mut stalled = Eta::new();
        stalled.update(&saving(10, 100), t0);
        assert_eq!(
            stalled.update(&saving(10, 100), t0 + Duration::from_secs(9)),
            None
        );
    }
}
