// IPC of the mailbox backup screen (issue 6: save the messages before a mailbox is ceased).
// Kept apart from backend.ts so the flow's calls and types read together; `Backend` extends
// `BackupApi`. The password goes to Rust once, with `backupStart`, and never comes back.
import { Channel } from '@tauri-apps/api/core';
import { call, type BackendErrorPayload } from './backend';

export type BackupPhase = 'listing' | 'saving' | 'verifying';

/** Sent after every message (at most every 100 ms, and at each change of phase or folder). */
export interface BackupProgress {
  phase: BackupPhase;
  /** Messages saved (saving) or files re-read (verifying) so far. */
  done: number;
  total: number;
  bytes: number;
  /** The folder being saved, as people read it. */
  folder: string | null;
}

export interface BackupFolderReport {
  folder: string;
  imap_folder: string;
  uidvalidity: number;
  /** Messages the server has in the folder at the end. */
  server_messages: number;
  /** Of those, how many the backup holds. */
  saved: number;
  missing_uids: number[];
  uidvalidity_changed: boolean;
}

export interface BackupReport {
  folders: BackupFolderReport[];
  /** Downloaded in this run. */
  downloaded: number;
  /** Found saved by an earlier run into the same folder and skipped. */
  already_saved: number;
  bytes_downloaded: number;
  files: { checked: number; hash_mismatches: string[]; missing_files: string[] };
  /** Every folder matches the server and every file its SHA-256. */
  verified: boolean;
}

export type BackupEvent =
  | ({ kind: 'progress' } & BackupProgress)
  | { kind: 'finished'; report: BackupReport; dest: string }
  | { kind: 'failed'; error: BackendErrorPayload };

/** What the form starts with: the values of this mailbox's last backup, else defaults. */
export interface BackupDefaults {
  /** Null when the user has to type the provider's IMAPS server. */
  host: string | null;
  port: number;
  user: string;
  dest: string | null;
}

export interface BackupRequest {
  address: string;
  host: string;
  port: number;
  /** Empty means the PEC address. */
  user: string;
  password: string;
  dest: string;
}

export interface BackupApi {
  backupDefaults(address: string): Promise<BackupDefaults>;
  /** Starts the backup; resolves once it runs. Progress and the outcome go to `onEvent`. */
  backupStart(request: BackupRequest, onEvent: (event: BackupEvent) => void): Promise<void>;
  /** Stops it between two messages; what is saved stays. True if one was running. */
  backupCancel(): Promise<boolean>;
  /** The system's folder picker (opened by Rust); null when closed without a choice. */
  backupPickFolder(current: string | null): Promise<string | null>;
}

export const backupCalls: BackupApi = {
  backupDefaults: (address) => call<BackupDefaults>('backup_defaults', { address }),
  backupStart: (request, onEvent) => {
    const channel = new Channel<BackupEvent>();
    channel.onmessage = onEvent;
    return call<void>('backup_start', {
      address: request.address,
      host: request.host,
      port: request.port,
      user: request.user.trim() ? request.user : null,
      password: request.password,
      dest: request.dest,
      channel,
    });
  },
  backupCancel: () => call<boolean>('backup_cancel'),
  backupPickFolder: (current) => call<string | null>('backup_pick_folder', { current }),
};
