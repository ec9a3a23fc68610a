// The one place where the UI talks to Rust. The commands and every type they carry are
// generated from the Rust code (`ipc.generated.ts`); this module adds the transport (`invoke`,
// with errors turned into `BackendError`), the two commands that stream events (a callback
// instead of a Tauri `Channel`), and the names the screens use for the wire types.
// Components reach the backend through the app context (`context.svelte.ts`), so unit tests
// give them a scripted one (`stub-backend.ts`) and never need Tauri.
import { Channel, invoke } from '@tauri-apps/api/core';
import {
  commands,
  type Localized,
  type BackupEvent,
  type BackupRequest,
  type Invoke,
  type ReadersUpdate,
  type UiCode,
} from './ipc.generated';

export type * from './ipc.generated';
export type {
  IdentityRequestView as IdentityRequest,
  StepData as Step,
  IdentityStateData as IdentityState,
  MailboxView as Mailbox,
  NotificationView as Notification,
  RenewalOrderView as RenewalOrder,
  PaymentMethodData as PaymentMethod,
  HolderKindData as HolderKind,
  MethodData as Method,
  AppPasswordView as AppPassword,
  Lang as Language,
  Progress as BackupProgress,
  ExpiryStatusData as ExpiryStatus,
} from './ipc.generated';

/** Errors cross IPC as a stable code plus the message in both languages. */
export type BackendErrorPayload = Localized;

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

  /** Whether this is one of the codes the UI acts on. */
  is(code: UiCode): boolean {
    return this.code === code;
  }

  localized(lang: 'it' | 'en'): string {
    return lang === 'it' ? this.messageIt : this.messageEn;
  }
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
    code: 'ipc.unexpected' satisfies UiCode,
    message_it: `Errore imprevisto di comunicazione con l'applicazione: ${detail}`,
    message_en: `Unexpected error talking to the application: ${detail}`,
  });
}

/** `invoke`, with every failure as a `BackendError`. */
export const call: Invoke = async (command, args, options) => {
  try {
    return await invoke(command, args, options);
  } catch (cause) {
    throw toBackendError(cause);
  }
};

type Commands = ReturnType<typeof commands>;

/** What the screens call: the generated commands, with the streams taking callbacks. */
export type Backend = Omit<Commands, 'cardWatch' | 'backupStart'> & {
  /** Calls `onUpdate` now and on every reader or card change, until `cardUnwatch`. */
  cardWatch(onUpdate: (update: ReadersUpdate) => void): Promise<void>;
  /** Starts the backup; resolves once it runs. Progress and the outcome go to `onEvent`. */
  backupStart(form: BackupRequest, password: string, onEvent: (event: BackupEvent) => void): Promise<void>;
};

/** The backend of a transport: Tauri's `invoke` in the app, anything in tests. */
export function backendOf(transport: Invoke): Backend {
  const raw = commands(transport);
  return {
    ...raw,
    cardWatch: (onUpdate) => {
      const channel = new Channel<ReadersUpdate>();
      channel.onmessage = onUpdate;
      return raw.cardWatch(channel);
    },
    backupStart: (form, password, onEvent) => {
      const channel = new Channel<BackupEvent>();
      channel.onmessage = onEvent;
      return raw.backupStart(form, password, channel);
    },
  };
}

export const tauriBackend: Backend = backendOf(call);
