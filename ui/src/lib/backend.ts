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
}

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
};
