//! Declares our own commands to Tauri's ACL: with an `AppManifest`, every app command is
//! checked against the capabilities, so the main window can call only what
//! `capabilities/main.json` allows.

/// Every `#[tauri::command]` of the app. Keep in step with `lib.rs`'s `generate_handler!`.
const COMMANDS: &[&str] = &[
    "app_info",
    "get_settings",
    "set_language",
    "provider_info",
    "sign_in",
    "sign_in_demo",
    "restore_session",
    "sign_out",
    "list_mailboxes",
    "list_notifications",
    "mark_notification_read",
    "identity_start",
    "identity_get",
    "identity_act",
    "identity_upload",
    "validate_field",
    "guide_link",
    "spid_start",
    "spid_open",
    "spid_poll",
    "remote_signature",
    "webcam_slots",
    "webcam_book",
    "two_step_enrol",
    "two_step_confirm",
    "app_passwords",
    "app_password_create",
    "app_password_delete",
    "draft_load",
    "draft_save",
    "draft_clear",
    "card_readers",
    "card_watch",
    "card_unwatch",
    "card_preflight",
    "card_identify",
    "branding",
    "check_for_update",
    "registry_sign_in",
    "registry_view",
    "registry_sign_out",
    "registry_request_change",
    "registry_confirm_link",
    "support_open",
    "support_ticket",
    "support_attach",
    "mailbox_expiries",
    // Renewal portal (seed 004).
    "renewal_lookup",
    "renewal_captcha",
    "renewal_register",
    "renewal_verify_email",
    "renewal_verify_sms",
    "renewal_skip_sms",
    "renewal_sign_in",
    "renewal_close",
    "renewal_mailboxes",
    "renewal_create_order",
    "renewal_order",
    "renewal_pay",
    "backup_defaults",
    "backup_start",
    "backup_cancel",
    "backup_pick_folder",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build failed: check tauri.conf.json and capabilities/");
}
