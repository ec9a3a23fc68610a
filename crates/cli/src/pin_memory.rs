//! What failed VERIFYs taught about a card's PIN, by card serial (a CIE by `cie:<NIS>`), kept between runs like the
//! app's `cards.json`: a card never says how many tries are left without a VERIFY (an empty
//! one costs a try on some lots), so the last failure is the only way to know that the next
//! wrong PIN blocks the card. The file holds no secret; it is private to the user anyway
//! (`pec_files`).
//!
//! Where: `$PEC_CARD_STATE`, else `$XDG_STATE_HOME/pec/cards.json`, else
//! `~/.local/state/pec/cards.json`; without any of them, nothing is remembered.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pec_card::guard::PinTries;
use pec_card::{CardError, PinKnowledge};

pub struct PinMemory {
    path: Option<PathBuf>,
    cards: BTreeMap<String, PinKnowledge>,
}

fn default_path() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("PEC_CARD_STATE") {
        return Some(PathBuf::from(p));
    }
    let state = var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".local/state")))?;
    Some(state.join("pec").join("cards.json"))
}

impl PinMemory {
    pub fn load() -> PinMemory {
        let path = default_path();
        let cards = path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        PinMemory { path, cards }
    }

    /// The tries the card with `serial` has left, as far as its last attempt taught.
    pub fn tries(&self, serial: Option<&str>) -> PinTries {
        PinTries::of(
            serial
                .and_then(|s| self.cards.get(s))
                .copied()
                .unwrap_or_default(),
        )
    }

    /// Remembers what the attempt that ended with `outcome` taught (a failure to save is
    /// told, never fatal: the card's answer is what matters).
    pub fn learn<T>(&mut self, serial: Option<&str>, outcome: &Result<T, CardError>) {
        let (Some(serial), Some(k), Some(path)) =
            (serial, PinKnowledge::after(outcome), self.path.as_deref())
        else {
            return;
        };
        if k == PinKnowledge::default() {
            self.cards.remove(serial);
        } else {
            self.cards.insert(serial.to_owned(), k);
        }
        let saved = path
            .parent()
            .map_or(Ok(()), pec_files::private_dir_all)
            .and_then(|()| {
                let bytes =
                    serde_json::to_vec_pretty(&self.cards).map_err(std::io::Error::other)?;
                pec_files::write_atomic(path, &bytes)
            });
        if let Err(e) = saved {
            eprintln!("pec: non è stato possibile salvare i tentativi del PIN rimasti ({e})");
        }
    }
}

/// The key a CIE's PIN is remembered under: its NIS (read without PIN), apart from CNS serials.
pub fn cie_key(nis: &str) -> String {
    format!("cie:{nis}")
}
