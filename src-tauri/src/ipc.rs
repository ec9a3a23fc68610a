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
//! An entry reads `module::name[extra Tauri arguments](ipc arguments) -> answer`; every
//! command also takes the [`Core`] as its first argument. Uploads take their file as the raw
//! IPC body (no base64, no JSON array of numbers) and its owner's id and name in headers.

#[cfg(test)]
use std::any::TypeId;
#[cfg(test)]
use std::collections::BTreeSet;
use std::future::Future;

use pec_app_core::{AppError, Core};
use serde::Deserialize;
use tauri::State;
use tauri::ipc::{Channel, CommandArg, CommandItem, InvokeError};
use ts_rs::{Config, TS, TypeVisitor};
use zeroize::Zeroizing;

use crate::commands::{
    AppInfo, app, backup, cards, cie, desktop, identity, registry, reminders, renewal, session,
    signature,
};
use pec_app_core::clipboard::CopyKind;
use pec_app_core::links::SupportLink;

/// Where the generated TypeScript lives, from `src-tauri/`.
#[cfg(test)]
pub const BINDINGS: &str = "../ui/src/lib/ipc.generated.ts";

macro_rules! surface {
    (
        commands { $( $m:ident :: $n:ident [ $($ctx:ty),* ] ( $($a:ident : $t:ty),* ) -> $r:ty ),* $(,)? }
        uploads { $( $um:ident :: $un:ident ( $ua:ident = $uh:literal ) -> $ur:ty ),* $(,)? }
    ) => {
        /// Every command, by name.
        #[cfg(test)]
        pub const COMMANDS: &[&str] = &[ $( stringify!($n), )* $( stringify!($un), )* ];

        /// The invoke handler of every command.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![ $( $m::$n, )* $( $um::$un, )* ]
        }

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
        app::app_branding[]() -> Option<BrandingView>,
        app::app_check_update[]() -> Option<Notice>,
        app::settings_get[]() -> Settings,
        app::settings_set_language[](language: Lang) -> Settings,
        desktop::desktop_copy[tauri::AppHandle](kind: CopyKind, text: Secret) -> (),
        desktop::desktop_open_support[tauri::AppHandle](which: SupportLink) -> (),
        desktop::desktop_export_diagnostics[tauri::WebviewWindow]() -> Option<String>,
        session::session_provider[]() -> ProviderInfo,
        session::session_sign_in[](login: String, password: Secret, totp_code: Option<Secret>) -> SessionView,
        session::session_sign_in_demo[](login: String) -> SessionView,
        session::session_restore[]() -> Option<SessionView>,
        session::session_sign_out[]() -> (),
        session::mailbox_list[]() -> Vec<MailboxView>,
        session::mailbox_expiries[]() -> Vec<MailboxExpiryView>,
        session::notification_list[]() -> Vec<NotificationView>,
        session::notification_mark_read[](id: String) -> (),
        identity::identity_start[](address: String) -> IdentityRequestView,
        identity::identity_get[](id: String) -> IdentityRequestView,
        identity::identity_act[](id: String, action: IdentityAction) -> IdentityRequestView,
        identity::identity_guide_link[](lang: Lang) -> Link,
        identity::identity_spid_start[](id: String) -> SpidStart,
        identity::identity_spid_open[tauri::AppHandle](id: String) -> (),
        identity::identity_spid_poll[](id: String, handle: String) -> SpidPoll,
        identity::identity_webcam_slots[]() -> Vec<WebcamSlot>,
        identity::identity_webcam_book[](id: String, starts_at: DateTime<Utc>, document: IdDocumentKind, language: Lang) -> WebcamBooking,
        identity::field_validate[](kind: FieldKind, value: String) -> FieldCheck,
        identity::draft_load[]() -> Option<Draft>,
        identity::draft_save[](draft: Draft) -> (),
        identity::draft_clear[]() -> (),
        identity::security_two_step_enrol[](address: String) -> TwoStepSetup,
        identity::security_two_step_confirm[](address: String, code: Secret) -> MailboxView,
        identity::security_app_password_list[](address: String) -> Vec<AppPasswordView>,
        identity::security_app_password_create[](address: String, label: String, code: Secret) -> AppPasswordView,
        identity::security_app_password_delete[](address: String, id: String) -> (),
        cards::card_readers[]() -> ReadersUpdate,
        cards::card_watch[](channel: Events<ReadersUpdate>) -> (),
        cards::card_unwatch[]() -> (),
        cards::card_preflight[](reader: String, declared_tax_code: Option<String>) -> CardCheck,
        cards::card_identify[](id: String, reader: String, pin: Secret, confirm_last_try: bool) -> IdentityRequestView,
        cie::cie_preflight[](reader: String) -> CieCheck,
        cie::cie_identify[](id: String, reader: String, pin: Secret) -> IdentityRequestView,
        cie::cie_cieid_start[](id: String) -> CieIdStart,
        cie::cie_cieid_open[tauri::AppHandle](id: String) -> (),
        cie::cie_cieid_poll[](id: String, handle: String) -> CieIdPoll,
        registry::registry_sign_in[](username: String, password: Secret) -> RegistryView,
        registry::registry_view[]() -> RegistryView,
        registry::registry_sign_out[]() -> (),
        registry::registry_request_change[](new_pec: String, confirm_new_pec: String) -> RegistryView,
        registry::registry_confirm_link[](link: Secret) -> PecChangeView,
        registry::support_open[](request: SupportTicketRequest) -> SupportTicketView,
        registry::support_ticket[](number: String) -> SupportTicketView,
        renewal::renewal_lookup[](tax_code: String) -> RenewalLookup,
        renewal::renewal_captcha[]() -> CaptchaView,
        renewal::renewal_register[](form: RegistrationForm) -> RegistrationView,
        renewal::renewal_verify_email[](registration_id: String, code: Secret) -> RegistrationView,
        renewal::renewal_verify_sms[](registration_id: String, code: Secret) -> RegistrationView,
        renewal::renewal_skip_sms[](registration_id: String) -> RegistrationView,
        renewal::renewal_sign_in[](tax_code: String, password: Secret) -> (),
        renewal::renewal_close[]() -> (),
        renewal::renewal_mailboxes[]() -> Vec<RenewableMailbox>,
        renewal::renewal_create_order[](mailbox: String, legal_representative: PersonData, payment_method: PaymentMethodData) -> RenewalOrderView,
        renewal::renewal_order[](id: String) -> RenewalOrderView,
        renewal::renewal_pay[](order_id: String, card: Option<CardInput>, wallet_account: Option<String>) -> RenewalOrderView,
        backup::backup_defaults[tauri::AppHandle](address: String) -> BackupDefaults,
        backup::backup_start[tauri::WebviewWindow](form: BackupRequest, password: Secret, channel: Events<BackupEvent>) -> (),
        backup::backup_cancel[]() -> bool,
        backup::backup_pick_folder[tauri::WebviewWindow](current: Option<String>) -> Option<BackupFolder>,
        reminders::backup_open_folder[tauri::AppHandle](folder: String) -> (),
        reminders::settings_set_reminders[tauri::AppHandle](reminders: ReminderSettings) -> Settings,
        reminders::reminder_list[]() -> ReminderList,
        reminders::reminder_take_open[]() -> Option<ReminderTarget>,
        signature::signature_form[](id: String) -> FormView,
        signature::signature_form_open[tauri::AppHandle](id: String) -> (),
        signature::signature_form_save[tauri::AppHandle](id: String) -> String,
        signature::signature_modules[]() -> Vec<ModuleView>,
        signature::signature_pick_module[tauri::WebviewWindow]() -> Option<String>,
        signature::signature_token_certificates[](module: String) -> Vec<TokenCertificateView>,
        signature::signature_sign_token[](id: String, module: String, token_label: Option<String>, cert_id: Option<String>, pin: Secret) -> IdentityRequestView,
        signature::signature_sign_card[](id: String, reader: String, pin: Secret, confirm_last_try: bool) -> IdentityRequestView,
        signature::signature_remote_sign_in[](id: String, username: String, password: Secret) -> Vec<RemoteCredentialView>,
        signature::signature_sign_remote[](id: String, credential: String, otp: Secret) -> IdentityRequestView,
        signature::signature_save_copy[tauri::AppHandle](id: String) -> String,
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

#[cfg(test)]
struct Command {
    name: &'static str,
    args: Vec<(&'static str, String)>,
    answer: String,
    upload: Option<&'static str>,
}

/// Every declared type reached from the commands, once each.
#[cfg(test)]
#[derive(Default)]
struct Types {
    seen: BTreeSet<TypeId>,
    decls: Vec<(String, String)>,
}

#[cfg(test)]
impl Types {
    fn add<T: TS + 'static + ?Sized>(&mut self, cfg: &Config) {
        let mut visit = Visit { cfg, types: self };
        visit.visit::<T>();
    }
}

#[cfg(test)]
struct Visit<'a> {
    cfg: &'a Config,
    types: &'a mut Types,
}

#[cfg(test)]
impl TypeVisitor for Visit<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Declared types have a file of their own in ts-rs's scheme; wrappers (Option, Vec,
        // Channel) do not, and only lead to what they wrap.
        if T::output_path().is_some() {
            if !self.types.seen.insert(TypeId::of::<T>()) {
                return;
            }
            let decl = T::decl(self.cfg);
            let docs = T::docs().map(|d| format!("{d}\n")).unwrap_or_default();
            self.types
                .decls
                .push((T::ident(self.cfg), format!("{docs}export {decl}")));
        } else {
            // A wrapper's own dependencies are its argument's dependencies, not the argument:
            // `Option<BrandingView>` leads to `BrandingView` only through its generics.
            T::visit_generics(self);
        }
        T::visit_dependencies(self);
    }
}

#[cfg(test)]
fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The whole generated file (written and checked by the tests below: the app itself never
/// needs it).
#[cfg(test)]
pub fn typescript() -> String {
    // The UI's numbers are JavaScript numbers: counts and sizes stay far below 2^53.
    let cfg = Config::new().with_large_int("number");
    let mut types = Types::default();
    let commands = table(&cfg, &mut types);
    let mut out = String::from(
        "// GENERATED by src-tauri/src/ipc.rs from the Rust commands and types: do not edit.\n\
         // `cargo test -p pec-app` fails when this file is stale; to write it again run\n\
         // `PEC_WRITE_BINDINGS=1 cargo test -p pec-app ipc::`.\n\n\
         import type { Channel } from '@tauri-apps/api/core';\n\n",
    );
    // ts-rs visits a type's dependencies in an order that changes from one compilation to
    // the next: sorted by name, the file is the same for every build.
    types.decls.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, decl) in &types.decls {
        out.push_str(decl);
        out.push_str("\n\n");
    }
    out.push_str("/** The error codes the UI branches on (every other code is only shown). */\n");
    let codes: Vec<String> = pec_app_core::UiCode::ALL
        .iter()
        .map(|c| format!("'{}'", c.as_str()))
        .collect();
    out.push_str(&format!("export type UiCode = {};\n\n", codes.join(" | ")));
    out.push_str(
        "/** How the UI reaches Rust: `invoke` with JSON arguments, or a raw body and headers. */\n\
         export type Invoke = <T>(\n  command: string,\n  args?: Record<string, unknown> | Uint8Array,\n  options?: { headers: Record<string, string> },\n) => Promise<T>;\n\n\
         /** Every command, as a function of the transport. */\n\
         export function commands(invoke: Invoke) {\n  return {\n",
    );
    for c in &commands {
        let answer = if c.answer == "null" {
            "void".to_owned()
        } else {
            c.answer.clone()
        };
        let params: Vec<String> = c
            .args
            .iter()
            .map(|(a, t)| format!("{}: {t}", camel(a)))
            .collect();
        match c.upload {
            None => {
                let keys: Vec<String> = c.args.iter().map(|(a, _)| camel(a)).collect();
                let args = if keys.is_empty() {
                    String::new()
                } else {
                    format!(", {{ {} }}", keys.join(", "))
                };
                out.push_str(&format!(
                    "    {}: ({}) => invoke<{answer}>('{}'{args}),\n",
                    camel(c.name),
                    params.join(", "),
                    c.name
                ));
            }
            Some(header) => {
                let owner = camel(c.args[0].0);
                out.push_str(&format!(
                    "    {}: ({owner}: string, filename: string, bytes: Uint8Array) =>\n      invoke<{answer}>('{}', bytes, {{\n        headers: {{ '{header}': {owner}, 'x-filename': encodeURIComponent(filename) }},\n      }}),\n",
                    camel(c.name),
                    c.name
                ));
            }
        }
    }
    out.push_str("  };\n}\n\n/** The commands' names, as the capability file allows them. */\nexport const COMMAND_NAMES = [\n");
    for c in &commands {
        out.push_str(&format!("  '{}',\n", c.name));
    }
    out.push_str("] as const;\n");
    out
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
        let allowed: BTreeSet<String> = json["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = COMMANDS
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(allowed, expected);
    }

    #[test]
    fn the_acl_manifest_lists_exactly_the_commands() {
        // build.rs reads the names from this file; the same parser is used here.
        let source = include_str!("ipc.rs");
        let listed = crate::ipc_names::parse(source);
        assert_eq!(listed, COMMANDS);
        let unique: BTreeSet<_> = COMMANDS.iter().collect();
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
        for c in COMMANDS {
            assert!(areas.iter().any(|a| c.starts_with(&format!("{a}_"))), "{c}");
        }
    }
}
