// The one place where the UI talks to Rust. Components receive a `Backend` so that
// unit tests can pass a fake one; the app passes `tauriBackend`, which wraps `invoke`.
import { invoke } from '@tauri-apps/api/core';

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
  base_url: string;
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

export interface Backend {
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

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (cause) {
    throw toBackendError(cause);
  }
}

export const tauriBackend: Backend = {
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
  branding: () => call<BrandingView | null>('branding'),
  checkForUpdate: () => call<UpdateNotice | null>('check_for_update'),
};
