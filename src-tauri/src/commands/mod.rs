//! The commands, by area. Each parses what the UI sent, calls one function of the core and
//! answers; errors are the core's `AppError`, which crosses IPC as `{code, message_it,
//! message_en}`. The list and the types the UI sees are in `ipc.rs`.

pub mod app;
pub mod backup;
pub mod cards;
pub mod cie;
pub mod desktop;
pub mod identity;
pub mod registry;
pub mod reminders;
pub mod session;
pub mod signature;

pub use app::AppInfo;

/// The answer of every command.
pub type Result<T> = std::result::Result<T, pec_app_core::AppError>;

/// The core, as every command receives it.
pub type Core<'a> = tauri::State<'a, pec_app_core::Core>;
