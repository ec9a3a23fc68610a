//! A file sent by the UI as the raw IPC body (no base64, no JSON array of numbers), with its
//! owner's id (request or ticket) and its name (`encodeURIComponent`) in headers. The core
//! checks the content and the name (`pec_app_core::documents`).

use pec_app_core::AppError;
use tauri::ipc::{InvokeBody, Request};

pub struct Upload<'r> {
    pub owner: String,
    pub filename: Option<String>,
    pub bytes: &'r [u8],
}

impl<'r> Upload<'r> {
    /// The upload in `request`, its owner in header `owner_header`.
    pub fn of(request: &'r Request<'_>, owner_header: &str) -> Result<Self, AppError> {
        // Only our own generated call sends uploads: anything else is a bug, not a user error.
        let InvokeBody::Raw(bytes) = request.body() else {
            return Err(AppError::Internal);
        };
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Upload {
            owner: header(owner_header).ok_or(AppError::Internal)?,
            filename: header("x-filename"),
            bytes,
        })
    }
}
