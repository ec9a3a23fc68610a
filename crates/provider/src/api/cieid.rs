//! Wire types of "Entra con CIE" without a card reader: the provider's CieID web login, opened
//! in the system browser, where the holder scans a QR code with the CieID app and the phone
//! reads the CIE over its own NFC. The app follows the login by polling, as for SPID.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::IdentityRequestView;

/// A CieID login started for a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CieIdLogin {
    /// Handle to poll.
    pub handle: String,
    /// The "Entra con CIE" page to open in the system browser; it shows the QR code for the
    /// CieID app.
    pub login_url: String,
    /// What the QR code carries: the page the CieID app on the phone opens.
    pub phone_url: String,
    /// When the login stops being accepted.
    pub expires_at: DateTime<Utc>,
}

/// State of a CieID login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CieIdStatus {
    /// Waiting for the holder on the phone.
    Pending,
    /// Confirmed in the CieID app: the request moved on.
    Authorised,
    /// The holder refused in the app.
    Denied,
    /// Not completed in time.
    Expired,
}

/// Poll answer for a CieID login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(optional_fields = nullable))]
pub struct CieIdPoll {
    /// The login's state.
    pub status: CieIdStatus,
    /// The request after the login, once authorised or denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<IdentityRequestView>,
}
