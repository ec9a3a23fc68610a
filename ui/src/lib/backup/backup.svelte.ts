// The backup screen's state: the form (checked field by field with the backup engine's own
// rules, through `field_validate`), the run's progress, and its report. Rust does the work
// (crates/app-core's backup, crates/backup); a second run into the same folder resumes.
import { getContext, setContext, tick } from 'svelte';
import { BackendError, toBackendError, type BackupEvent, type BackupProgress, type BackupReport, type FieldKind, type Mailbox } from '../backend';
import type { AppContext } from '../context.svelte';

const KEY = Symbol('backup');

export type Step = 'form' | 'running' | 'done';
export type FieldName = 'host' | 'port' | 'password' | 'dest';

export class BackupState {
  step = $state<Step>('form');
  starting = $state(false);
  cancelling = $state(false);
  error = $state<BackendError | null>(null);
  notice = $state('');
  host = $state('');
  /** The host is the provider's published server (the only one a backup goes to): shown, not typed. */
  hostPublished = $state(false);
  port = $state('993');
  user = $state('');
  password = $state('');
  /** The folder as shown; Rust keeps its path and accepts only `destToken` (audit M6). */
  dest = $state('');
  destToken = $state('');
  errors = $state<Partial<Record<FieldName, string>>>({});
  progress = $state<BackupProgress | null>(null);
  report = $state<BackupReport | null>(null);
  savedTo = $state('');
  /** The token of the folder written to: "Apri cartella" sends it, never a path. */
  folderToken = $state('');
  /** Set when the run's outcome has arrived (it may come before `backupStart` resolves). */
  private ended = false;

  constructor(
    readonly app: AppContext,
    readonly mailbox: Mailbox,
    readonly ids: Record<FieldName | 'user', string>,
  ) {}

  async prefill() {
    try {
      const d = await this.app.backend.backupDefaults(this.mailbox.address);
      if (d.host_published && d.host) {
        this.host = d.host;
        this.hostPublished = true;
      } else if (!this.host && d.host) this.host = d.host;
      this.port = String(d.port);
      if (!this.user) this.user = d.user;
      if (!this.destToken && d.dest) {
        this.dest = d.dest.path;
        this.destToken = d.dest.token;
      }
    } catch {
      // The form works without its prefill.
      if (!this.user) this.user = this.mailbox.address;
    }
  }

  async go(next: Step) {
    this.step = next;
    await tick();
    document.getElementById('backup-heading')?.focus();
  }

  async showError(e: BackendError) {
    this.error = e;
    await tick();
    document.getElementById('backup-alert')?.focus();
  }

  /** One field through the engine's rule; its message when it fails. */
  private async rule(kind: FieldKind, value: string): Promise<string | undefined> {
    const r = await this.app.backend.fieldValidate(kind, value);
    return r.valid ? undefined : (r.error?.[`message_${this.app.lang}`] ?? undefined);
  }

  /** The form's checks before anything is sent (the same rules Rust applies when it starts). */
  async check(): Promise<boolean> {
    const m = this.app.m;
    const e: Partial<Record<FieldName, string>> = {};
    try {
      const host = this.host.trim();
      e.host = host ? await this.rule('imap_host', host) : m.backupHostRequired;
      e.port = await this.rule('port', this.port);
      if (!this.password) e.password = m.backupPasswordRequired;
      e.dest = this.destToken ? undefined : m.backupDestRequired;
    } catch (cause) {
      await this.showError(toBackendError(cause));
      return false;
    }
    this.errors = e;
    const first = (['host', 'port', 'password', 'dest'] as const).find((k) => e[k]);
    if (first) void tick().then(() => document.getElementById(this.ids[first])?.focus());
    return !first;
  }

  async start() {
    this.error = null;
    this.notice = '';
    if (!(await this.check())) return;
    const secret = this.password;
    this.password = '';
    this.starting = true;
    this.progress = null;
    this.report = null;
    this.ended = false;
    try {
      const user = this.user.trim();
      const form = { address: this.mailbox.address, host: this.host.trim(), port: Number(this.port), user: user || null, dest: this.destToken };
      await this.app.backend.backupStart(form, secret, (event) => this.onEvent(event));
      if (!this.ended) await this.go('running');
    } catch (cause) {
      await this.showError(toBackendError(cause));
    } finally {
      this.starting = false;
    }
  }

  private onEvent(e: BackupEvent) {
    if (e.kind === 'progress') {
      this.progress = {
        phase: e.phase,
        done: e.done,
        total: e.total,
        bytes: e.bytes,
        bytes_total: e.bytes_total,
        eta_seconds: e.eta_seconds,
        folder: e.folder,
      };
      return;
    }
    this.ended = true;
    this.cancelling = false;
    if (e.kind === 'finished') {
      this.report = e.report;
      this.savedTo = e.dest;
      this.folderToken = e.folder;
      void this.go('done');
      return;
    }
    const failure = new BackendError(e.error);
    this.step = 'form';
    if (failure.is('backup.cancelled')) {
      this.notice = this.app.m.backupCancelledNotice;
      void tick().then(() => document.getElementById('backup-heading')?.focus());
    } else {
      void this.showError(failure);
    }
  }

  async cancel() {
    this.cancelling = true;
    try {
      const wasRunning = await this.app.backend.backupCancel();
      if (!wasRunning) this.cancelling = false;
    } catch (cause) {
      this.cancelling = false;
      await this.showError(toBackendError(cause));
    }
  }

  async pick() {
    try {
      const chosen = await this.app.backend.backupPickFolder(this.dest.trim() || null);
      if (chosen) {
        this.dest = chosen.path;
        this.destToken = chosen.token;
        this.errors = { ...this.errors, dest: undefined };
      }
      await tick();
      document.getElementById(this.ids.dest)?.focus();
    } catch (cause) {
      await this.showError(toBackendError(cause));
    }
  }

  /** Opens the folder written to in the file manager (Rust opens it: only this run's). */
  async openFolder() {
    try {
      await this.app.backend.backupOpenFolder(this.folderToken);
    } catch (cause) {
      await this.showError(toBackendError(cause));
    }
  }

  again() {
    this.error = null;
    this.notice = '';
    void this.go('form');
  }
}

export function provideBackup(state: BackupState): BackupState {
  return setContext(KEY, state);
}

export function useBackup(): BackupState {
  const state = getContext<BackupState | undefined>(KEY);
  if (!state) throw new Error('useBackup() outside the backup screen');
  return state;
}
