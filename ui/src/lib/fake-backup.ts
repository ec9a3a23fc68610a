// The mailbox backup part of the fake backend (see fake-backend.ts): a mailbox with a few
// folders behind one app password, a folder picker that answers what the test put in
// `backupPicked`, and runs that remember what each destination already holds, so a second
// run into the same folder resumes. With `backupAuto` off, a started run waits for the test
// to call `backupRunToEnd()`, so its progress and its cancel can be looked at.
import { BackendError, type Backend } from './backend';
import type { BackupApi, BackupDefaults, BackupEvent, BackupReport, BackupRequest } from './backup-backend';

export const FAKE_BACKUP_PASSWORD = 'app-password-1';

export interface FakeBackupState {
  /** The mailbox on the "server": folder name → number of messages. */
  backupServer: Record<string, number>;
  /** Messages each destination folder already holds from earlier runs. */
  backupSaved: Record<string, number>;
  backupDefaultsFor: Record<string, BackupDefaults>;
  /** What the folder picker answers (null: closed without a choice). */
  backupPicked: string | null;
  /** Run to the end by itself right after starting (default), or wait for `backupRunToEnd`. */
  backupAuto: boolean;
  /** The run in progress: its request and where its events go. */
  backupRun: { request: BackupRequest; emit: (e: BackupEvent) => void } | null;
  /** Every request started, password included only as a flag (tests check it was sent). */
  backupRequests: (Omit<BackupRequest, 'password'> & { password_sent: boolean })[];
  /** Emits the rest of the running backup: progress for every message, then the outcome. */
  backupRunToEnd(): void;
  /** Emits one progress event of the running backup. */
  backupEmit(event: BackupEvent): void;
}

function fail(code: string, it: string, en: string): BackendError {
  return new BackendError({ code, message_it: it, message_en: en });
}

export function fakeBackupState(): Omit<FakeBackupState, 'backupRunToEnd' | 'backupEmit'> {
  return {
    backupServer: { INBOX: 3, 'Posta inviata': 2 },
    backupSaved: {},
    backupDefaultsFor: {},
    backupPicked: '/home/mario/Documenti/PEC',
    backupAuto: true,
    backupRun: null,
    backupRequests: [],
  };
}

export function fakeBackupCalls(
  state: () => FakeBackupState,
  answer: <T>(name: keyof Backend, result: () => T) => T,
): BackupApi & Pick<FakeBackupState, 'backupRunToEnd' | 'backupEmit'> {
  function runToEnd() {
    const s = state();
    const run = s.backupRun;
    if (!run) return;
    s.backupRun = null;
    if (run.request.password !== FAKE_BACKUP_PASSWORD) {
      run.emit({
        kind: 'failed',
        error: {
          code: 'backup.auth_failed',
          message_it:
            'Il server di posta ha rifiutato nome utente o password. Se sulla casella è attiva la verifica in due passaggi, qui serve una password per le app (creala nel pannello del gestore), non la password della webmail.',
          message_en:
            'The mail server refused the user name or password. If two-step login is on for this mailbox, use an app password (create one in the provider’s panel), not the webmail password.',
        },
      });
      return;
    }
    const total = Object.values(s.backupServer).reduce((a, b) => a + b, 0);
    const already = Math.min(s.backupSaved[run.request.dest] ?? 0, total);
    let done = already;
    for (const [folder, count] of Object.entries(s.backupServer)) {
      for (let i = 0; i < count && done < total; i++) {
        done += 1;
        run.emit({ kind: 'progress', phase: 'saving', done, total, bytes: done * 1000, folder });
      }
    }
    run.emit({ kind: 'progress', phase: 'verifying', done: total, total, bytes: total * 1000, folder: null });
    s.backupSaved[run.request.dest] = total;
    const report: BackupReport = {
      folders: Object.entries(s.backupServer).map(([folder, count], i) => ({
        folder,
        imap_folder: folder,
        uidvalidity: 1700000000 + i,
        server_messages: count,
        saved: count,
        missing_uids: [],
        uidvalidity_changed: false,
      })),
      downloaded: total - already,
      already_saved: already,
      bytes_downloaded: (total - already) * 1000,
      files: { checked: total, hash_mismatches: [], missing_files: [] },
      verified: true,
    };
    run.emit({ kind: 'finished', report, dest: run.request.dest });
  }

  return {
    backupRunToEnd: runToEnd,
    backupEmit(event) {
      state().backupRun?.emit(event);
    },
    async backupDefaults(address) {
      return answer('backupDefaults', () => {
        const remembered = state().backupDefaultsFor[address];
        return remembered
          ? { ...remembered }
          : { host: null, port: 993, user: address, dest: `/home/mario/Documenti/PEC/${address}` };
      });
    },
    async backupStart(request, onEvent) {
      return answer('backupStart', () => {
        const s = state();
        if (s.backupRun) {
          throw fail(
            'backup.busy',
            'È già in corso un salvataggio: attendi che finisca o interrompilo.',
            'A backup is already running: wait for it to finish or stop it.',
          );
        }
        const { password, ...rest } = request;
        s.backupRequests.push({ ...rest, password_sent: password.length > 0 });
        s.backupDefaultsFor[request.address] = {
          host: request.host,
          port: request.port,
          user: request.user || request.address,
          dest: request.dest,
        };
        s.backupRun = { request, emit: onEvent };
        onEvent({ kind: 'progress', phase: 'listing', done: 0, total: 0, bytes: 0, folder: null });
        if (s.backupAuto) setTimeout(runToEnd, 0);
      });
    },
    async backupCancel() {
      return answer('backupCancel', () => {
        const s = state();
        const run = s.backupRun;
        if (!run) return false;
        s.backupRun = null;
        setTimeout(
          () =>
            run.emit({
              kind: 'failed',
              error: {
                code: 'backup.cancelled',
                message_it:
                  'Salvataggio interrotto. I messaggi già salvati restano; avviandolo di nuovo riprende da dove si è fermato.',
                message_en: 'Backup stopped. Messages already saved stay; starting it again resumes where it stopped.',
              },
            }),
          0,
        );
        return true;
      });
    },
    async backupPickFolder() {
      return answer('backupPickFolder', () => state().backupPicked);
    },
  };
}
