//! E-mail delivery through an SMTP relay (lettre), from the outbox table.
//!
//! Every message is first written to the outbox in the same transaction as the change that
//! caused it (an OTP, a link, a success notice), so a crash cannot lose it or send it for a change
//! that was rolled back. A background task then relays pending rows and records the result;
//! failed rows are retried a bounded number of times.

// The relay itself (lettre, its TLS and the web PKI roots) is the `smtp` feature: the server
// `pec sandbox serve` has it; the app's embedded sandbox, whose mail stays in its outbox, does not.
#[cfg(feature = "smtp")]
mod relay;
#[cfg(feature = "smtp")]
pub(crate) use relay::spawn_delivery;

/// How to reach the relay.
#[derive(Clone)]
pub struct SmtpConfig {
    /// Relay host name.
    pub host: String,
    /// Relay port (587 for STARTTLS, 465 for TLS, 25/1025 for a local relay).
    pub port: u16,
    /// Transport security.
    pub security: SmtpSecurity,
    /// User name and password, if the relay wants them.
    pub credentials: Option<(String, String)>,
    /// Sender address ("From").
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    // The password must not reach a log through `{:?}` of the whole config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Transport security of the relay connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS: accepted only for a relay on loopback (a local MTA or a test catcher).
    Plain,
    /// STARTTLS upgrade, required.
    StartTls,
    /// TLS from the first byte.
    Tls,
}

/// What an outbox body becomes once it is no longer needed: after delivery, or, for messages
/// that stay in the sandbox's outbox, once every secret they could hold has expired.
pub const REDACTED_BODY: &str =
    "[contenuto rimosso dopo la consegna / content removed after delivery]";

/// Attempts per message before it is left as failed.
pub const MAX_DELIVERY_ATTEMPTS: i64 = 8;
