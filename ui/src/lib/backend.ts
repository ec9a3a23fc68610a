// The one place where the UI talks to Rust. Components receive a `Backend` so that
// unit tests can pass a fake one; the app passes `tauriBackend`, which wraps `invoke`.
import { backupCalls, type BackupApi } from './backup-backend';
import { registryCalls, type RegistryApi } from './registry-backend';
import { Channel, invoke } from '@tauri-apps/api/core';

export type Language = 'it' | 'en';

export interface AppInfo {
  name: string;
  version: string;
  /** Where the rolling log files are written: shown so users can send them to support. */
  log_dir: string;
}

export interface Settings {
  language: Language;
  /** The provider's API base URL; absent means the embedded sandbox. */
  provider_url?: string;
  /** The account of the last session (prefills the sign-in form). */
  last_account?: string;
  /** The release feed of the update notice; absent means the branding's, if any. */
  release_feed_url?: string;
}

/** The association behind a branded build (`null` for the plain one). */
export interface BrandingView {
  /** The association's name. */
  name: string;
  /** The product name of the branded build. */
  product_name: string;
  colors: { primary: string; accent: string };
  support: { phone?: string; email?: string; web?: string };
}

/** A newer release than the running one, from the release feed. */
export interface UpdateNotice {
  current: string;
  latest: string;
  /** `YYYY-MM-DD`. */
  published: string;
  notes_url: string;
}

export interface DemoAccount {
  login: string;
  name: string;
  mailboxes: string[];
}

export interface ProviderInfo {
  /** Null while the embedded sandbox is still starting (its URL is not shown anyway). */
  base_url: string | null;
  /** The embedded sandbox runs: the sign-in screen offers its demo accounts. */
  embedded: boolean;
  demo_accounts: DemoAccount[];
  last_login: string | null;
}

/** The signed-in account. No token ever crosses into the webview. */
export interface SessionView {
  account_id: string;
}

export type IdentityState = 'to_confirm' | 'checks_in_progress' | 'documents_missing' | 'completed';

export type HolderData =
  | {
      kind: 'company';
      business_name: string;
      tax_code: string;
      legal_representative?: { first_name: string; last_name: string; tax_code: string };
    }
  | { kind: 'professional'; name: string; tax_code: string; vat_number?: string }
  | { kind: 'private_citizen'; first_name: string; last_name: string; tax_code: string };

export interface ContactData {
  email: string;
  mobile?: string;
}

export interface Mailbox {
  address: string;
  holder: HolderData;
  contact: ContactData;
  identity_state: IdentityState;
  identity_state_label_it: string;
  /** The European star: qualified and identified. */
  qualified: boolean;
  expires_on: string;
  two_step_login: boolean;
  active_identity_request?: string;
}

export type NotificationKind = 'identity_banner' | 'identity_outcome' | 'security';

export interface Notification {
  id: string;
  kind: NotificationKind;
  mailbox: string;
  title_it: string;
  title_en: string;
  body_it: string;
  body_en: string;
  created_at: string;
  read: boolean;
}

export type HolderKind = 'company' | 'professional' | 'private_citizen';
export type Method = 'spid' | 'cie' | 'cns' | 'digital_signature' | 'remote_signature' | 'webcam';
export type Step =
  | 'choosing_role'
  | 'awaiting_holder_email'
  | 'delegation_link_sent'
  | 'choosing_holder_kind'
  | 'entering_data'
  | 'summary'
  | 'choosing_method'
  | 'identifying'
  | 'identified'
  | 'accepting_terms'
  | 'otp_sent'
  | 'completed'
  | 'data_mismatch'
  | 'legal_person_ceased'
  | 'documents_missing'
  | 'checks_in_progress'
  | 'holder_change_required';

export interface DocumentView {
  id: string;
  filename: string;
  media_type: string;
  size: number;
  uploaded_at: string;
}

/** An identity request as the provider returns it; which fields are set depends on `step`. */
export interface IdentityRequest {
  id: string;
  mailbox: string;
  step: Step;
  state: IdentityState;
  state_label_it: string;
  outcome?: 'data_mismatch' | 'legal_person_ceased' | 'legal_representative_check_failed' | 'checks_in_progress';
  outcome_label_it?: string;
  practice_number?: string;
  holder_kind?: HolderKind;
  draft?: { holder: HolderData; contact: ContactData };
  method?: Method;
  holder_email?: string;
  otp_expires_at?: string;
  otp_attempts_left?: number;
  resend_available_at?: string;
  documents: DocumentView[];
  updated_at: string;
}

export type IdentityAction =
  | { type: 'choose_role'; role: 'holder_or_legal_representative' | 'other' }
  | { type: 'submit_holder_email'; holder_email: string }
  | { type: 'choose_holder_kind'; kind: HolderKind }
  | { type: 'submit_data'; holder: HolderData; contact: ContactData }
  | { type: 'confirm_summary' }
  | { type: 'back' }
  | { type: 'choose_method'; method: Method }
  | { type: 'abandon_identification' }
  | { type: 'proceed' }
  | { type: 'complete_request'; terms: { service_conditions: boolean; contract_information: boolean } }
  | { type: 'resend_otp' }
  | { type: 'confirm_otp'; code: string }
  | { type: 'retry' }
  | { type: 'change_holder' }
  | { type: 'change_legal_representative' }
  | { type: 'submit_documents' };

export type FieldKind = 'codice_fiscale' | 'tax_code' | 'partita_iva' | 'email' | 'mobile' | 'name';

export interface FieldCheck {
  valid: boolean;
  normalized: string | null;
  error: BackendErrorPayload | null;
}

export interface ReaderView {
  name: string;
  card: 'none' | 'cns' | 'cie' | 'signature_token' | 'unknown';
  card_label: string | null;
  atr: string | null;
  busy: boolean;
}

export interface ReadersUpdate {
  readers: ReaderView[];
  error: BackendErrorPayload | null;
}

export interface CardCheck {
  reader: string;
  card_label: string;
  serial: string | null;
  given_name: string | null;
  surname: string | null;
  tax_code: string | null;
  issuer: string | null;
  not_after: string;
  certificate: 'valid' | 'expired' | 'not_yet_valid';
  tax_code_matches: boolean | null;
  pin: { tries_left: number | null; blocked: boolean };
  problems: BackendErrorPayload[];
}

export interface SpidStart {
  handle: string;
  login_url: string;
  expires_at: string;
  qr_svg: string;
}

export interface SpidPoll {
  status: 'pending' | 'authorised' | 'denied' | 'expired';
  request?: IdentityRequest;
}

export interface WebcamSlot {
  starts_at: string;
  minutes: number;
}

export type IdDocumentKind = 'cie' | 'paper_identity_card' | 'driving_licence' | 'passport';

export interface WebcamBooking {
  id: string;
  request_id: string;
  starts_at: string;
  status: 'booked' | 'approved' | 'rejected';
}

export interface TwoStepSetup {
  secret: string;
  qr_svg: string;
}

export interface AppPassword {
  id: string;
  label: string;
  /** Present only in the answer that created it: shown once. */
  password?: string;
  created_at: string;
}

export interface Link {
  url: string;
  qr_svg: string;
}

/** Where a wizard was left. Only form fields, never a secret. */
export interface Draft {
  mailbox: string;
  request_id: string | null;
  fields: Record<string, string>;
  saved_at?: string | null;
}

/** Errors cross IPC as a stable code plus the message in both languages. */
export interface BackendErrorPayload {
  code: string;
  message_it: string;
  message_en: string;
}

export class BackendError extends Error {
  readonly code: string;
  readonly messageIt: string;
  readonly messageEn: string;

  constructor(payload: BackendErrorPayload) {
    super(payload.message_en);
    this.name = 'BackendError';
    this.code = payload.code;
    this.messageIt = payload.message_it;
    this.messageEn = payload.message_en;
  }

  localized(lang: Language): string {
    return lang === 'it' ? this.messageIt : this.messageEn;
  }
}

export interface Backend extends RegistryApi, BackupApi {
  appInfo(): Promise<AppInfo>;
  getSettings(): Promise<Settings>;
  setLanguage(language: Language): Promise<Settings>;
  providerInfo(): Promise<ProviderInfo>;
  signIn(login: string, password: string, totpCode?: string): Promise<SessionView>;
  /** Signs in to a demo account of the embedded sandbox (Rust knows the demo password). */
  signInDemo(login: string): Promise<SessionView>;
  /** The session kept in the OS keyring, if the provider still accepts it. */
  restoreSession(): Promise<SessionView | null>;
  signOut(): Promise<void>;
  listMailboxes(): Promise<Mailbox[]>;
  listNotifications(): Promise<Notification[]>;
  markNotificationRead(id: string): Promise<void>;
  identityStart(address: string): Promise<IdentityRequest>;
  identityGet(id: string): Promise<IdentityRequest>;
  identityAct(id: string, action: IdentityAction): Promise<IdentityRequest>;
  identityUpload(id: string, filename: string, bytes: Uint8Array): Promise<IdentityRequest>;
  validateField(kind: FieldKind, value: string): Promise<FieldCheck>;
  guideLink(lang: Language): Promise<Link>;
  spidStart(id: string): Promise<SpidStart>;
  spidOpen(id: string): Promise<void>;
  spidPoll(id: string, handle: string): Promise<SpidPoll>;
  remoteSignature(id: string, username: string, password: string, otp: string): Promise<IdentityRequest>;
  webcamSlots(): Promise<WebcamSlot[]>;
  webcamBook(id: string, startsAt: string, document: IdDocumentKind, language: Language): Promise<WebcamBooking>;
  twoStepEnrol(address: string): Promise<TwoStepSetup>;
  twoStepConfirm(address: string, code: string): Promise<Mailbox>;
  appPasswords(address: string): Promise<AppPassword[]>;
  /** `code`: a fresh two-step code; the provider asks for one on every creation. */
  appPasswordCreate(address: string, label: string, code: string): Promise<AppPassword>;
  appPasswordDelete(address: string, id: string): Promise<void>;
  draftLoad(): Promise<Draft | null>;
  draftSave(draft: Draft): Promise<void>;
  draftClear(): Promise<void>;
  cardReaders(): Promise<ReadersUpdate>;
  /** Calls `onUpdate` now and on every reader or card change, until `cardUnwatch`. */
  cardWatch(onUpdate: (update: ReadersUpdate) => void): Promise<void>;
  cardUnwatch(): Promise<void>;
  cardPreflight(reader: string, declaredTaxCode: string | null): Promise<CardCheck>;
  /** VERIFY once, sign the provider's challenge; a wrong PIN rejects with `card.pin_wrong`. */
  cardIdentify(id: string, reader: string, pin: string): Promise<IdentityRequest>;
  /** The association behind this build, or `null` for the plain build. */
  branding(): Promise<BrandingView | null>;
  /** A newer release, or `null` (also when the feed cannot be reached). */
  checkForUpdate(): Promise<UpdateNotice | null>;
}

/** The code Rust answers with when the session can no longer be used. */
export const SESSION_EXPIRED = 'session.expired';

function isPayload(value: unknown): value is BackendErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.code === 'string' &&
    typeof v.message_it === 'string' &&
    typeof v.message_en === 'string'
  );
}

/** Turns whatever `invoke` rejected with into a `BackendError`, never losing the cause. */
export function toBackendError(cause: unknown): BackendError {
  if (cause instanceof BackendError) return cause;
  if (isPayload(cause)) return new BackendError(cause);
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BackendError({
    code: 'ipc.unexpected',
    message_it: `Errore imprevisto di comunicazione con l'applicazione: ${detail}`,
    message_en: `Unexpected error talking to the application: ${detail}`,
  });
}

export async function call<T>(
  command: string,
  args?: Record<string, unknown> | Uint8Array,
  options?: { headers: Record<string, string> },
): Promise<T> {
  try {
    return await invoke<T>(command, args, options);
  } catch (cause) {
    throw toBackendError(cause);
  }
}

export const tauriBackend: Backend = {
  ...backupCalls,
  ...registryCalls,
  appInfo: () => call<AppInfo>('app_info'),
  getSettings: () => call<Settings>('get_settings'),
  setLanguage: (language) => call<Settings>('set_language', { language }),
  providerInfo: () => call<ProviderInfo>('provider_info'),
  signIn: (login, password, totpCode) =>
    call<SessionView>('sign_in', { login, password, totpCode: totpCode ?? null }),
  signInDemo: (login) => call<SessionView>('sign_in_demo', { login }),
  restoreSession: () => call<SessionView | null>('restore_session'),
  signOut: () => call<void>('sign_out'),
  listMailboxes: () => call<Mailbox[]>('list_mailboxes'),
  listNotifications: () => call<Notification[]>('list_notifications'),
  markNotificationRead: (id) => call<void>('mark_notification_read', { id }),
  identityStart: (address) => call<IdentityRequest>('identity_start', { address }),
  identityGet: (id) => call<IdentityRequest>('identity_get', { id }),
  identityAct: (id, action) => call<IdentityRequest>('identity_act', { id, action }),
  // The file goes as the raw IPC body: no base64, no JSON array of numbers.
  identityUpload: (id, filename, bytes) =>
    call<IdentityRequest>('identity_upload', bytes, {
      headers: { 'x-request-id': id, 'x-filename': encodeURIComponent(filename) },
    }),
  validateField: (kind, value) => call<FieldCheck>('validate_field', { kind, value }),
  guideLink: (lang) => call<Link>('guide_link', { lang }),
  spidStart: (id) => call<SpidStart>('spid_start', { id }),
  spidOpen: (id) => call<void>('spid_open', { id }),
  spidPoll: (id, handle) => call<SpidPoll>('spid_poll', { id, handle }),
  remoteSignature: (id, username, password, otp) =>
    call<IdentityRequest>('remote_signature', { id, username, password, otp }),
  webcamSlots: () => call<WebcamSlot[]>('webcam_slots'),
  webcamBook: (id, startsAt, document, language) =>
    call<WebcamBooking>('webcam_book', { id, startsAt, document, language }),
  twoStepEnrol: (address) => call<TwoStepSetup>('two_step_enrol', { address }),
  twoStepConfirm: (address, code) => call<Mailbox>('two_step_confirm', { address, code }),
  appPasswords: (address) => call<AppPassword[]>('app_passwords', { address }),
  appPasswordCreate: (address, label, code) => call<AppPassword>('app_password_create', { address, label, code }),
  appPasswordDelete: (address, id) => call<void>('app_password_delete', { address, id }),
  draftLoad: () => call<Draft | null>('draft_load'),
  draftSave: (draft) => call<void>('draft_save', { draft }),
  draftClear: () => call<void>('draft_clear'),
  cardReaders: () => call<ReadersUpdate>('card_readers'),
  cardWatch: (onUpdate) => {
    const channel = new Channel<ReadersUpdate>();
    channel.onmessage = onUpdate;
    return call<void>('card_watch', { channel });
  },
  cardUnwatch: () => call<void>('card_unwatch'),
  cardPreflight: (reader, declaredTaxCode) =>
    call<CardCheck>('card_preflight', { reader, declaredTaxCode }),
  cardIdentify: (id, reader, pin) => call<IdentityRequest>('card_identify', { id, reader, pin }),
  branding: () => call<BrandingView | null>('branding'),
  checkForUpdate: () => call<UpdateNotice | null>('check_for_update'),
  ...renewalCommands(),
};

// ---------------------------------------------------------------------------------------------
// Renewal portal (seed 004). Declared apart (interface merging) so that it merges cleanly with
// other screens' additions; `tauriBackend` spreads `renewalCommands()`.

/** The company's codice fiscale as the portal wants it, and whether it is registered. */
export interface RenewalLookup {
  /** 16 characters: an 11-digit code left-padded with zeros, letters uppercase. */
  tax_code: string;
  registered: boolean;
  business_name?: string;
  /** The contact e-mail given at activation, masked (`c***@example.com`). */
  activation_email_masked?: string;
}

export interface CaptchaView {
  id: string;
  expires_at: string;
  /** The PNG image, checked in Rust, for a `data:image/png;base64,` URL. */
  png_base64: string;
}

export type RegistrationStep = 'awaiting_email_code' | 'awaiting_sms_code' | 'completed';

export interface RenewalRegistration {
  id: string;
  tax_code: string;
  email: string;
  mobile: string;
  step: RegistrationStep;
  mobile_verified: boolean;
}

export type ExpiryStatus = 'active' | 'expiring_soon' | 'expired' | 'ceased';

export interface ExpiryView {
  expires_on: string;
  today: string;
  days_to_expiry: number;
  status: ExpiryStatus;
  reminder_from: string;
  renewable_until: string;
  ceases_on: string;
  offer_backup: boolean;
}

export interface PriceView {
  net_cents: number;
  vat_rate_percent: number;
  vat_cents: number;
  total_cents: number;
  currency: string;
  label_it: string;
}

export interface RenewableMailbox {
  address: string;
  business_name: string;
  expiry: ExpiryView;
  price: PriceView;
}

export interface PersonData {
  first_name: string;
  last_name: string;
  tax_code: string;
}

export type WalletKind = 'paypal' | 'postepay';

export type PaymentMethod =
  | { kind: 'phone_line'; line_number: string }
  | { kind: 'card' }
  | { kind: 'wallet'; wallet: WalletKind };

export interface RenewalOrder {
  id: string;
  mailbox: string;
  tax_code: string;
  legal_representative: PersonData;
  payment_method: PaymentMethod;
  price: PriceView;
  state: 'awaiting_payment' | 'paid';
  paid_at?: string;
  /** Payment day (Europe/Rome) + 12 months. */
  new_expires_on?: string;
}

export interface CardInput {
  number: string;
  expiry_month: number;
  expiry_year: number;
  cvc: string;
  holder_name: string;
}

export interface RenewalBackend {
  renewalLookup(taxCode: string): Promise<RenewalLookup>;
  /** A new captcha with its image (also the "new image" button: each is single use). */
  renewalCaptcha(): Promise<CaptchaView>;
  renewalRegister(form: {
    taxCode: string;
    email: string;
    mobile: string;
    password: string;
    captchaId: string;
    captchaAnswer: string;
  }): Promise<RenewalRegistration>;
  renewalVerifyEmail(registrationId: string, code: string): Promise<RenewalRegistration>;
  renewalVerifySms(registrationId: string, code: string): Promise<RenewalRegistration>;
  renewalSkipSms(registrationId: string): Promise<RenewalRegistration>;
  renewalSignIn(taxCode: string, password: string): Promise<void>;
  /** Leaves the screen: Rust drops the portal session. */
  renewalClose(): Promise<void>;
  renewalMailboxes(): Promise<RenewableMailbox[]>;
  renewalCreateOrder(mailbox: string, legalRepresentative: PersonData, paymentMethod: PaymentMethod): Promise<RenewalOrder>;
  renewalOrder(id: string): Promise<RenewalOrder>;
  /** Pays under the order's idempotency key, kept in Rust: a retry after a timeout reuses it. */
  renewalPay(orderId: string, payment: { card?: CardInput; walletAccount?: string }): Promise<RenewalOrder>;
}

export interface Backend extends RenewalBackend {}

function renewalCommands(): RenewalBackend {
  return {
    renewalLookup: (taxCode) => call<RenewalLookup>('renewal_lookup', { taxCode }),
    renewalCaptcha: () => call<CaptchaView>('renewal_captcha'),
    renewalRegister: (f) =>
      call<RenewalRegistration>('renewal_register', {
        taxCode: f.taxCode,
        email: f.email,
        mobile: f.mobile,
        password: f.password,
        captchaId: f.captchaId,
        captchaAnswer: f.captchaAnswer,
      }),
    renewalVerifyEmail: (registrationId, code) =>
      call<RenewalRegistration>('renewal_verify_email', { registrationId, code }),
    renewalVerifySms: (registrationId, code) =>
      call<RenewalRegistration>('renewal_verify_sms', { registrationId, code }),
    renewalSkipSms: (registrationId) => call<RenewalRegistration>('renewal_skip_sms', { registrationId }),
    renewalSignIn: (taxCode, password) => call<void>('renewal_sign_in', { taxCode, password }),
    renewalClose: () => call<void>('renewal_close'),
    renewalMailboxes: () => call<RenewableMailbox[]>('renewal_mailboxes'),
    renewalCreateOrder: (mailbox, legalRepresentative, paymentMethod) =>
      call<RenewalOrder>('renewal_create_order', { mailbox, legalRepresentative, paymentMethod }),
    renewalOrder: (id) => call<RenewalOrder>('renewal_order', { id }),
    renewalPay: (orderId, payment) =>
      call<RenewalOrder>('renewal_pay', {
        orderId,
        card: payment.card ?? null,
        walletAccount: payment.walletAccount ?? null,
      }),
  };
}
