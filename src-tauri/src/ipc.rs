//! The IPC surface, listed once: every command, what the UI sends it and what it answers.
//!
//! [`surface!`] below is the one list. From it come the invoke handler ([`handler`]), the
//! command names ([`COMMANDS`], which `build.rs` reads from this file for the ACL manifest and
//! a test compares with `capabilities/main.json`), a compile-time check that each entry's
//! types are the command function's own, and the TypeScript the UI imports
//! (`ui/src/lib/ipc.generated.ts`: every type, the command table, the codes the UI branches
//! on), which a test regenerates and compares with the checked-in file. So the UI cannot call
//! a command that does not exist, with arguments of the wrong shape, without a test failing.
//!
//! A hand-written command (in `commands/`, for those that need Tauri: a window, a dialog, the
//! opener, a channel) is listed as `module::name[extra Tauri arguments](ipc arguments) ->
//! answer`; every command also takes the [`Core`] as its first argument. A command that only
//! hands its arguments to the core is written here whole, as
//! `fn name(ipc arguments) -> answer = |core| the core's call;`, and generated. Uploads take their file as the raw
//! IPC body (no base64, no JSON array of numbers) and its owner's id and name in headers.

use std::future::Future;

use pec_app_core::{AppError, Core};
#[cfg(test)]
use pec_ipc_gen::{Command, Types};
use serde::Deserialize;
use tauri::State;
use tauri::ipc::{Channel, CommandArg, CommandItem, InvokeError};
use ts_rs::{Config, TS, TypeVisitor};
use zeroize::Zeroizing;

use crate::commands::{
    AppInfo, app, backup, cards, cie, desktop, identity, registry, reminders, session, signature,
};
use pec_app_core::clipboard::CopyKind;
use pec_app_core::links::SupportLink;

/// Where the generated TypeScript lives, from `src-tauri/`.
#[cfg(test)]
pub const BINDINGS: &str = "../ui/src/lib/ipc.generated.ts";

macro_rules! surface {
    (
        commands { $( $m:ident :: $n:ident [ $($ctx:ty),* ] ( $($a:ident : $t:ty),* ) -> $r:ty ),* $(,)? }
        forward { $( $(#[$doc:meta])* fn $fname:ident ( $($fa:ident : $ft:ty),* ) -> $fr:ty = |$core:ident| $call:expr ; )* }
        uploads { $( $um:ident :: $un:ident ( $ua:ident = $uh:literal ) -> $ur:ty ),* $(,)? }
    ) => {
        /// Every command, by name.
        #[cfg(test)]
        pub const COMMANDS: &[&str] = &[ $( stringify!($n), )* $( stringify!($fname), )* $( stringify!($un), )* ];

        /// The invoke handler of every command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![ $( $m::$n, )* $( $fname, )* $( $um::$un, )* ]
        }

        // The forwarding commands: the arguments as the UI sends them, straight to the core.
        $(
            $(#[$doc])*
            #[tauri::command]
            async fn $fname($core: State<'_, Core>, $($fa: $ft),*) -> Result<$fr, AppError> {
                $call.await
            }
        )*

        /// Fails to compile when an entry's types are not its function's.
        #[allow(dead_code)]
        fn signatures() {
            $( answers::<$r, _>(as_fn!(($m::$n) State<'static, Core>, $($ctx,)* $($t,)*)); )*
            $( answers::<$ur, _>(as_fn!(($um::$un) State<'static, Core>, tauri::ipc::Request<'static>,)); )*
        }

        /// The commands as the TypeScript generator sees them.
        #[cfg(test)]
        fn table(cfg: &Config, types: &mut Types) -> Vec<Command> {
            let mut out = Vec::new();
            $(
                $( types.add::<$t>(cfg); )*
                types.add::<$r>(cfg);
                out.push(Command {
                    name: stringify!($n),
                    args: vec![ $( (stringify!($a), <$t as TS>::name(cfg)), )* ],
                    answer: <$r as TS>::name(cfg),
                    upload: None,
                });
            )*
            $(
                $( types.add::<$ft>(cfg); )*
                types.add::<$fr>(cfg);
                out.push(Command {
                    name: stringify!($fname),
                    args: vec![ $( (stringify!($fa), <$ft as TS>::name(cfg)), )* ],
                    answer: <$fr as TS>::name(cfg),
                    upload: None,
                });
            )*
            $(
                types.add::<$ur>(cfg);
                out.push(Command {
                    name: stringify!($un),
                    args: vec![(stringify!($ua), "string".to_owned())],
                    answer: <$ur as TS>::name(cfg),
                    upload: Some($uh),
                });
            )*
            out
        }
    };
}

/// Coerces a command function to a function pointer of the listed argument types.
macro_rules! as_fn {
    (($path:path) $($ty:ty,)*) => {{
        let f: fn($($ty),*) -> _ = $path;
        f
    }};
}

use chrono::{DateTime, Utc};
use pec_app_core::backup::BackupRequest;
use pec_app_core::backup::{BackupDefaults, BackupEvent, BackupFolder};
use pec_app_core::cards::{CardCheck, ReadersUpdate};
use pec_app_core::cie::{CieCheck, CieIdStart};
use pec_app_core::drafts::Draft;
use pec_app_core::fields::{FieldCheck, FieldKind};
use pec_app_core::identity::{Link, SpidStart};
use pec_app_core::registry::RegistryView;
use pec_app_core::reminders::{ReminderList, ReminderSettings, ReminderTarget};
use pec_app_core::renewal::CardInput;
use pec_app_core::renewal::{CaptchaView, RegistrationForm, RegistrationView};
use pec_app_core::security::TwoStepSetup;
use pec_app_core::session::{ProviderInfo, SessionView};
use pec_app_core::signature::{FormView, ModuleView, RemoteCredentialView, TokenCertificateView};
use pec_app_core::{Settings, branding::BrandingView};
use pec_domain::Lang;
use pec_provider::api::{
    AppPasswordView, CieIdPoll, IdDocumentKind, IdentityAction, IdentityRequestView,
    MailboxExpiryView, MailboxView, NotificationView, PaymentMethodData, PecChangeView, PersonData,
    RenewableMailbox, RenewalLookup, RenewalOrderView, SpidPoll, SupportTicketRequest,
    SupportTicketView, WebcamBooking, WebcamSlot,
};
use pec_updates::Notice;

surface! {
    commands {
        app::app_info[tauri::AppHandle]() -> AppInfo,
        app::app_shown[tauri::AppHandle]() -> (),
        app::app_branding[]() -> Option<BrandingView>,
        app::app_check_update[]() -> Option<Notice>,
        app::settings_get[]() -> Settings,
        app::settings_set_language[](language: Lang) -> Settings,
        desktop::desktop_copy[tauri::AppHandle](kind: CopyKind, text: Secret) -> (),
        desktop::desktop_open_support[tauri::AppHandle](which: SupportLink) -> (),
        desktop::desktop_export_diagnostics[tauri::WebviewWindow]() -> Option<String>,
        session::session_provider[]() -> ProviderInfo,
        identity::identity_spid_open[tauri::AppHandle](id: String) -> (),
        identity::field_validate[](kind: FieldKind, value: String) -> FieldCheck,
        cards::card_watch[](channel: Events<ReadersUpdate>) -> (),
        cards::card_unwatch[]() -> (),
        cie::cie_cieid_open[tauri::AppHandle](id: String) -> (),
        backup::backup_defaults[tauri::AppHandle](address: String) -> BackupDefaults,
        backup::backup_start[tauri::WebviewWindow](form: BackupRequest, password: Secret, channel: Events<BackupEvent>) -> (),
        backup::backup_cancel[]() -> bool,
        backup::backup_pick_folder[tauri::WebviewWindow](current: Option<String>) -> Option<BackupFolder>,
        reminders::backup_open_folder[tauri::AppHandle](folder: String) -> (),
        reminders::settings_set_reminders[tauri::AppHandle](reminders: ReminderSettings) -> Settings,
        reminders::reminder_list[]() -> ReminderList,
        reminders::reminder_take_open[]() -> Option<ReminderTarget>,
        signature::signature_form_open[tauri::AppHandle](id: String) -> (),
        signature::signature_form_save[tauri::AppHandle](id: String) -> String,
        signature::signature_modules[]() -> Vec<ModuleView>,
        signature::signature_pick_module[tauri::WebviewWindow]() -> Option<String>,
        signature::signature_save_copy[tauri::AppHandle](id: String) -> String,
    }
    forward {
        fn card_readers() -> ReadersUpdate = |core| pec_app_core::cards::readers(&core);
        fn card_preflight(reader: String, declared_tax_code: Option<String>) -> CardCheck = |core| pec_app_core::cards::preflight(&core, reader, declared_tax_code);
        /// VERIFY once and sign the provider's challenge; a wrong PIN answers `card.pin_wrong`. On a
        /// card with one try left, nothing is sent without `confirm_last_try` (`card.pin_last_try`).
        fn card_identify(id: String, reader: String, pin: Secret, confirm_last_try: bool) -> IdentityRequestView = |core| pec_app_core::cards::identify(&core, &id, reader, &pin, confirm_last_try);
        /// What the CIE on `reader` tells before the PIN.
        fn cie_preflight(reader: String) -> CieCheck = |core| pec_app_core::cie::preflight(&core, reader);
        /// VERIFY once, the holder check, the signature; a wrong PIN answers `card.pin_wrong`, a card
        /// lifted from the reader `card.cie_lost`; on the PIN's last try only once the holder confirmed.
        fn cie_identify(id: String, reader: String, pin: Secret, confirm_last_try: bool) -> IdentityRequestView = |core| pec_app_core::cie::identify(&core, &id, reader, &pin, confirm_last_try);
        fn cie_cieid_start(id: String) -> CieIdStart = |core| pec_app_core::cie::cieid_start(&core, &id);
        fn cie_cieid_poll(id: String, handle: String) -> CieIdPoll = |core| pec_app_core::cie::cieid_poll(&core, &id, &handle);
        /// Opens the wizard for a mailbox: the request already in progress, or a new one.
        fn identity_start(address: String) -> IdentityRequestView = |core| pec_app_core::identity::start(&core, &address);
        fn identity_get(id: String) -> IdentityRequestView = |core| pec_app_core::identity::get(&core, &id);
        fn identity_act(id: String, action: IdentityAction) -> IdentityRequestView = |core| pec_app_core::identity::act(&core, &id, &action);
        fn identity_guide_link(lang: Lang) -> Link = |core| pec_app_core::identity::guide_link(&core, lang);
        fn identity_spid_start(id: String) -> SpidStart = |core| pec_app_core::identity::spid_start(&core, &id);
        fn identity_spid_poll(id: String, handle: String) -> SpidPoll = |core| pec_app_core::identity::spid_poll(&core, &id, &handle);
        fn identity_webcam_slots() -> Vec<WebcamSlot> = |core| pec_app_core::identity::webcam_slots(&core);
        fn identity_webcam_book(id: String, starts_at: DateTime<Utc>, document: IdDocumentKind, language: Lang) -> WebcamBooking = |core| pec_app_core::identity::webcam_book(&core, &id, starts_at, document, language);
        fn draft_load() -> Option<Draft> = |core| pec_app_core::drafts::load(&core);
        fn draft_save(draft: Draft) -> () = |core| pec_app_core::drafts::save(&core, draft);
        fn draft_clear() -> () = |core| pec_app_core::drafts::clear(&core);
        fn security_two_step_enrol(address: String) -> TwoStepSetup = |core| pec_app_core::security::two_step_enrol(&core, &address);
        fn security_two_step_confirm(address: String, code: Secret) -> MailboxView = |core| pec_app_core::security::two_step_confirm(&core, &address, &code);
        fn security_app_password_list(address: String) -> Vec<AppPasswordView> = |core| pec_app_core::security::app_passwords(&core, &address);
        fn security_app_password_create(address: String, label: String, code: Secret) -> AppPasswordView = |core| pec_app_core::security::app_password_create(&core, &address, &label, &code);
        fn security_app_password_delete(address: String, id: String) -> () = |core| pec_app_core::security::app_password_delete(&core, &address, &id);
        fn registry_sign_in(username: String, password: Secret) -> RegistryView = |core| pec_app_core::registry::sign_in(&core, &username, &password);
        fn registry_view() -> RegistryView = |core| pec_app_core::registry::view(&core);
        fn registry_sign_out() -> () = |core| pec_app_core::registry::sign_out(&core);
        fn registry_request_change(new_pec: String, confirm_new_pec: String) -> RegistryView = |core| pec_app_core::registry::request_change(&core, &new_pec, &confirm_new_pec);
        /// The confirmation link pasted from the PEC (it carries a token: handled as a secret).
        fn registry_confirm_link(link: Secret) -> PecChangeView = |core| pec_app_core::registry::confirm_link(&core, &link);
        fn support_open(request: SupportTicketRequest) -> SupportTicketView = |core| pec_app_core::registry::support_open(&core, &request);
        fn support_ticket(number: String) -> SupportTicketView = |core| pec_app_core::registry::support_ticket(&core, &number);
        fn renewal_lookup(tax_code: String) -> RenewalLookup = |core| pec_app_core::renewal::lookup(&core, &tax_code);
        fn renewal_captcha() -> CaptchaView = |core| pec_app_core::renewal::captcha(&core);
        fn renewal_register(form: RegistrationForm) -> RegistrationView = |core| pec_app_core::renewal::register(&core, &form);
        fn renewal_verify_email(registration_id: String, code: Secret) -> RegistrationView = |core| pec_app_core::renewal::verify_email(&core, &registration_id, &code);
        fn renewal_verify_sms(registration_id: String, code: Secret) -> RegistrationView = |core| pec_app_core::renewal::verify_sms(&core, &registration_id, &code);
        /// Closing the SMS pop-up: the registration completes without a verified mobile.
        fn renewal_skip_sms(registration_id: String) -> RegistrationView = |core| pec_app_core::renewal::skip_sms(&core, &registration_id);
        fn renewal_sign_in(tax_code: String, password: Secret) -> () = |core| pec_app_core::renewal::sign_in(&core, &tax_code, &password);
        /// Leaves the renewal screen: the portal session is dropped.
        fn renewal_close() -> () = |core| pec_app_core::renewal::close(&core);
        fn renewal_mailboxes() -> Vec<RenewableMailbox> = |core| pec_app_core::renewal::mailboxes(&core);
        fn renewal_create_order(mailbox: String, legal_representative: PersonData, payment_method: PaymentMethodData) -> RenewalOrderView = |core| pec_app_core::renewal::create_order(&core, &mailbox, &legal_representative, payment_method);
        fn renewal_order(id: String) -> RenewalOrderView = |core| pec_app_core::renewal::order(&core, &id);
        /// Pays under the order's idempotency key: a retry after an unknown outcome reuses it.
        fn renewal_pay(order_id: String, card: Option<CardInput>, wallet_account: Option<String>) -> RenewalOrderView = |core| pec_app_core::renewal::pay(&core, &order_id, card, wallet_account.as_deref());
        /// Signs in. The password is zeroized once the provider has answered.
        fn session_sign_in(login: String, password: Secret, totp_code: Option<Secret>) -> SessionView = |core| pec_app_core::session::sign_in(&core, &login, &password, totp_code.as_deref());
        /// Signs in to a demo account of the embedded sandbox; no password crosses IPC.
        fn session_sign_in_demo(login: String) -> SessionView = |core| pec_app_core::session::sign_in_demo(&core, &login);
        fn session_restore() -> Option<SessionView> = |core| pec_app_core::session::restore(&core);
        fn session_sign_out() -> () = |core| pec_app_core::session::sign_out(&core);
        fn mailbox_list() -> Vec<MailboxView> = |core| pec_app_core::mailboxes::list(&core);
        fn mailbox_expiries() -> Vec<MailboxExpiryView> = |core| pec_app_core::mailboxes::expiries(&core);
        fn notification_list() -> Vec<NotificationView> = |core| pec_app_core::mailboxes::notifications(&core);
        fn notification_mark_read(id: String) -> () = |core| pec_app_core::mailboxes::mark_notification_read(&core, &id);
        /// The request form (its text; the PDF stays in the core for the signature).
        fn signature_form(id: String) -> FormView = |core| pec_app_core::signature::form(&core, &id);
        /// The signature certificates the module's tokens hold, with each token's PIN warning.
        fn signature_token_certificates(module: String) -> Vec<TokenCertificateView> = |_core| pec_app_core::signature::pkcs11_certificates(module);
        /// Signs the form with a PKCS#11 token (one `C_Login`) and sends it.
        fn signature_sign_token(id: String, module: String, token_label: Option<String>, cert_id: Option<String>, pin: Secret) -> IdentityRequestView = |core| pec_app_core::signature::sign_with_pkcs11(&core, &id, module, token_label, cert_id, pin.into_inner());
        /// Signs the form with the card's signature DF (one VERIFY) and sends it; on the signature
        /// PIN's last try only once the holder confirmed.
        fn signature_sign_card(id: String, reader: String, pin: Secret, confirm_last_try: bool) -> IdentityRequestView = |core| pec_app_core::signature::sign_with_card(&core, &id, reader, pin.into_inner(), confirm_last_try);
        /// Signs in to the remote signature service and lists the credentials.
        fn signature_remote_sign_in(id: String, username: String, password: Secret) -> Vec<RemoteCredentialView> = |core| pec_app_core::signature::remote_sign_in(&core, &id, &username, password.into_inner());
        /// Signs the form remotely with the credential and the OTP, and sends it.
        fn signature_sign_remote(id: String, credential: String, otp: Secret) -> IdentityRequestView = |core| pec_app_core::signature::sign_remotely(&core, &id, &credential, otp.into_inner());
    }
    uploads {
        identity::identity_upload(request_id = "x-request-id") -> IdentityRequestView,
        registry::support_attach(number = "x-ticket") -> SupportTicketView,
    }
}

// ---------------------------------------------------------------------------------------------
// Argument types of our own

/// A secret typed by the user (a password, a PIN, an OTP, a pasted link with a token): wiped
/// when the command ends, never logged.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl std::ops::Deref for Secret {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Secret {
    pub fn into_inner(self) -> Zeroizing<String> {
        self.0
    }
}

impl TS for Secret {
    type WithoutGenerics = Self;
    type OptionInnerType = Self;
    fn name(_: &Config) -> String {
        "string".to_owned()
    }
    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
}

/// A stream of events to the UI (a Tauri `Channel`): progress, reader changes.
pub struct Events<T: Clone>(pub Channel<T>);

impl<'de, R: tauri::Runtime, T: Clone> CommandArg<'de, R> for Events<T> {
    fn from_command(command: CommandItem<'de, R>) -> Result<Self, InvokeError> {
        Channel::from_command(command).map(Events)
    }
}

impl<T: Clone + TS + 'static> TS for Events<T> {
    type WithoutGenerics = Events<ts_rs::Dummy>;
    type OptionInnerType = Self;
    fn name(cfg: &Config) -> String {
        format!("Channel<{}>", T::name(cfg))
    }
    fn inline(cfg: &Config) -> String {
        Self::name(cfg)
    }
    fn visit_dependencies(v: &mut impl TypeVisitor)
    where
        Self: 'static,
    {
        v.visit::<T>();
    }
}

/// Checks that a command answers `T` (its future's output is `Result<T, AppError>`).
trait Answers<T> {}

macro_rules! answers_for_arity {
    ($($arg:ident),*) => {
        impl<T, F: Future<Output = Result<T, AppError>>, $($arg),*> Answers<T> for fn($($arg),*) -> F {}
    };
}
answers_for_arity!(A);
answers_for_arity!(A, B);
answers_for_arity!(A, B, C);
answers_for_arity!(A, B, C, D);
answers_for_arity!(A, B, C, D, E);
answers_for_arity!(A, B, C, D, E, G);

fn answers<T, F: Answers<T>>(_: F) {}

// ---------------------------------------------------------------------------------------------
// The TypeScript

/// The whole generated file (written and checked by the tests below: the app itself never
/// needs it).
#[cfg(test)]
pub fn typescript() -> String {
    let cfg = pec_ipc_gen::config();
    let mut types = Types::default();
    let commands = table(&cfg, &mut types);
    let codes: Vec<&str> = pec_app_core::UiCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    pec_ipc_gen::typescript(types, &commands, &codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS);
        let fresh = typescript();
        if std::env::var_os("PEC_WRITE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            current == fresh,
            "{} is stale: run `PEC_WRITE_BINDINGS=1 cargo test -p pec-app ipc::` and commit it",
            path.display()
        );
    }

    #[test]
    fn the_capability_allows_exactly_the_commands() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("capabilities/main.json");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let allowed: std::collections::BTreeSet<String> = json["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        let expected: std::collections::BTreeSet<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn the_acl_manifest_lists_exactly_the_commands() {
        // build.rs reads the names from this file; the same parser is used here.
        let source = include_str!("ipc.rs");
        let listed = pec_ipc_gen::command_names(source);
        assert_eq!(listed, COMMANDS);
        let unique: std::collections::BTreeSet<_> = COMMANDS.iter().collect();
        assert_eq!(unique.len(), COMMANDS.len(), "a command listed twice");
    }

    #[test]
    fn names_are_area_then_verb() {
        let areas = [
            "app",
            "settings",
            "session",
            "mailbox",
            "notification",
            "identity",
            "field",
            "draft",
            "security",
            "card",
            "cie",
            "registry",
            "support",
            "renewal",
            "backup",
            "signature",
            "reminder",
            "desktop",
        ];
        assert_eq!(pec_ipc_gen::misnamed(COMMANDS, &areas), Vec::<&str>::new());
    }
}
