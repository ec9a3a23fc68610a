//! Languages and the error shape that crosses IPC and HTTP.
//!
//! Every validation or transition error in this crate has a *stable machine code* (for example
//! `cf.checksum`) and a message in Italian and in English. The code is what the UI, the provider
//! client and the sandbox server match on; the messages are what a person reads. Codes never change
//! once published: the UI may key help pages and tests on them. Messages may be reworded freely.
//!
//! Italian comes first everywhere because the users are Italian PEC holders; English is the second
//! language of the app.

use serde::{Deserialize, Serialize};

/// The languages the app speaks.
///
/// Serialised as `"it"` / `"en"` so the same value can travel in JSON and in an
/// `Accept-Language`-like setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    /// Italian, the default: the users, the providers and the registries speak it.
    #[default]
    It,
    /// English.
    En,
}

/// A localised, machine-readable error as it crosses a process or network boundary.
///
/// JSON: `{"code": "cf.checksum", "message_it": "...", "message_en": "..."}`. Both messages travel
/// together so a receiver never needs this crate's tables to show the error, and a language switch
/// in the UI does not need another round trip.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Localized {
    /// Stable machine code, dot-separated, lowercase: `<area>.<reason>`.
    pub code: String,
    /// Message for people, in Italian.
    pub message_it: String,
    /// Message for people, in English.
    pub message_en: String,
}

impl Localized {
    /// An error with its code and both messages: the one way to build one by hand (errors of
    /// the crates build theirs through [`DomainError::to_localized`]).
    pub fn new(code: impl Into<String>, it: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message_it: it.into(),
            message_en: en.into(),
        }
    }

    /// The message in the requested language.
    pub fn message(&self, lang: Lang) -> &str {
        match lang {
            Lang::It => &self.message_it,
            Lang::En => &self.message_en,
        }
    }
}

impl std::fmt::Display for Localized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message_en)
    }
}

impl std::error::Error for Localized {}

/// Implemented by every error of this crate: a stable code plus a message in each language.
///
/// Callers that cross a boundary call [`DomainError::to_localized`]; callers that only log can use
/// `Display`, which every error implements with the English message.
pub trait DomainError: std::error::Error {
    /// The stable machine code, e.g. `cf.checksum`.
    fn code(&self) -> &'static str;

    /// The message for people in the given language.
    fn message(&self, lang: Lang) -> String;

    /// The boundary shape with both languages.
    fn to_localized(&self) -> Localized {
        Localized::new(self.code(), self.message(Lang::It), self.message(Lang::En))
    }
}

/// Picks the message of the requested language; a helper for the `message` implementations.
pub(crate) fn pick(lang: Lang, it: String, en: String) -> String {
    match lang {
        Lang::It => it,
        Lang::En => en,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lang_serialises_as_snake_case() {
        assert_eq!(serde_json::to_string(&Lang::It).unwrap(), "\"it\"");
        assert_eq!(serde_json::to_string(&Lang::En).unwrap(), "\"en\"");
        assert_eq!(Lang::default(), Lang::It);
    }

    #[test]
    fn localized_json_shape_is_the_contract() {
        let l = Localized {
            code: "x.y".into(),
            message_it: "ciao".into(),
            message_en: "hello".into(),
        };
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "x.y", "message_it": "ciao", "message_en": "hello"})
        );
        assert_eq!(l.message(Lang::It), "ciao");
        assert_eq!(l.message(Lang::En), "hello");
        assert_eq!(l.to_string(), "x.y: hello");
    }
}
