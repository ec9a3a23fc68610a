import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Backup from './backup/Backup.svelte';
import Shell from './Shell.svelte';
import type { BackupEvent, BackupReport, FieldCheck, FieldKind } from './backend';
import { mailbox } from './fixtures';
import { messages } from './i18n';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

const ADDRESS = 'mario.rossi@pec.sandbox.test';
const DEST = '/home/mario/PEC/mario';
const SUGGESTED = `/home/mario/Documenti/PEC/${ADDRESS}`;
const DEFAULTS = { host: null, host_published: false, port: 993, user: ADDRESS, dest: { token: 'folder-0', path: SUGGESTED } };

/** The field rules answered as Rust would for these inputs. */
function rules(kind: FieldKind, value: string): FieldCheck {
  const bad = (code: string, it: string) => ({ valid: false, normalized: null, error: { code, message_it: it, message_en: it } });
  if (kind === 'imap_host' && /[/:@\s]/.test(value)) return bad('backup.invalid_host', 'Indica solo il nome del server IMAPS, senza «imaps://»');
  if (kind === 'port' && !(Number(value) >= 1 && Number(value) <= 65535)) return bad('backup.invalid_port', 'La porta deve essere un numero da 1 a 65535');
  return { valid: true, normalized: value, error: null };
}

function report(downloaded: number, already: number, folder_list_empty = false): BackupReport {
  return {
    folders: [
      { folder: 'INBOX', imap_folder: 'INBOX', uidvalidity: 1, server_messages: 3 + already, saved: 3 + already, missing_uids: [], uidvalidity_changed: false },
      { folder: 'Posta inviata', imap_folder: 'Sent', uidvalidity: 1, server_messages: 2, saved: 2, missing_uids: [], uidvalidity_changed: false },
    ],
    downloaded,
    already_saved: already,
    bytes_downloaded: downloaded * 1000,
    files: { checked: downloaded + already, hash_mismatches: [], missing_files: [] },
    verified: true,
    folder_list_empty,
  };
}

/** `backupStart` keeps the event callback, so the test plays Rust's part. */
function runs() {
  let emit: (e: BackupEvent) => void = () => {};
  return {
    start: (_form: unknown, _password: string, onEvent: (e: BackupEvent) => void) => {
      emit = onEvent;
    },
    emit: (e: BackupEvent) => emit(e),
  };
}

function renderBackup(over: Script = {}, lang: 'it' | 'en' = 'it', twoStep = false) {
  const backend = stubBackend({ backupDefaults: DEFAULTS, fieldValidate: rules, backupPickFolder: { token: 'folder-1', path: DEST }, ...over });
  renderWithApp(Backup, { mailbox: { ...mailbox(ADDRESS), two_step_login: twoStep }, onclose: vi.fn() }, backend, lang);
  return backend;
}

type User = ReturnType<typeof userEvent.setup>;

async function fillForm(user: User, lang: 'it' | 'en', password = 'app-password') {
  const m = messages[lang];
  // The prefill (port, user, suggested folder) has arrived.
  await waitFor(() => expect(screen.getByLabelText(m.backupUser)).toHaveValue(ADDRESS));
  await user.type(screen.getByLabelText(`${m.backupHost} *`), 'imaps.pec.example.it');
  await user.type(screen.getByLabelText(`${m.backupPassword} *`), password);
  await user.click(screen.getByTestId('backup-pick'));
  await waitFor(() => expect(screen.getByLabelText(`${m.backupDest} *`)).toHaveValue(DEST));
}

function step(): string | null {
  return screen.getByTestId('backup').getAttribute('data-step');
}

describe('Backup', { timeout: 30_000 }, () => {
  test('every field is labelled and prefilled; the form checks itself with Rust’s rules before sending', async () => {
    const user = userEvent.setup();
    const backend = renderBackup({}, 'it', true);
    const m = messages.it;
    await waitFor(() => expect(screen.getByLabelText(m.backupUser)).toHaveValue(ADDRESS));
    expect(screen.getByLabelText(`${m.backupPort} *`)).toHaveValue('993');
    expect(screen.getByLabelText(`${m.backupDest} *`)).toHaveValue(SUGGESTED);
    // Two-step login on: the app password is asked for, with where to make one.
    expect(screen.getByTestId('backup-app-password-hint')).toHaveTextContent('password per le app');
    expect(screen.getByLabelText(`${m.backupPassword} *`)).toHaveAccessibleDescription(/Password per le app di posta/);

    await user.type(screen.getByLabelText(`${m.backupHost} *`), 'imaps://imaps.pec.example.it');
    const port = screen.getByLabelText(`${m.backupPort} *`);
    await user.clear(port);
    await user.type(port, '99999');
    await user.click(screen.getByTestId('backup-start'));
    expect(await screen.findByTestId('backup-host-error')).toHaveTextContent('senza «imaps://»');
    expect(screen.getByTestId('backup-port-error')).toHaveTextContent('da 1 a 65535');
    expect(screen.getByTestId('backup-password-error')).toHaveTextContent(m.backupPasswordRequired);
    await waitFor(() => expect(screen.getByLabelText(`${m.backupHost} *`)).toHaveFocus());
    expect(backend.mock('fieldValidate')).toHaveBeenCalledWith('imap_host', 'imaps://imaps.pec.example.it');
    expect(backend.calls).not.toContain('backupStart');
  });

  test('progress is shown and announced, then the verified report with per-folder counts', async () => {
    const user = userEvent.setup();
    const run = runs();
    const backend = renderBackup({ backupStart: run.start });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('running'));
    expect(screen.getByRole('heading', { level: 1 })).toHaveFocus();
    // The password went to Rust once and is no longer in the form's state.
    expect(backend.mock('backupStart').mock.calls[0]!.slice(0, 2)).toEqual([
      { address: ADDRESS, host: 'imaps.pec.example.it', port: 993, user: ADDRESS, dest: 'folder-1' },
      'app-password',
    ]);

    run.emit({ kind: 'progress', phase: 'saving', done: 2, total: 5, bytes: 2000, bytes_total: 0, eta_seconds: null, folder: 'INBOX' });
    const status = await screen.findByText('Salvataggio dei messaggi: 2 di 5');
    expect(status).toHaveAttribute('role', 'status');
    const bar = screen.getByRole('progressbar', { name: messages.it.backupProgressLabel });
    expect(bar).toHaveAttribute('value', '2');
    expect(bar).toHaveAttribute('max', '5');
    expect(screen.getByTestId('backup-folder')).toHaveTextContent('Cartella: INBOX');

    run.emit({ kind: 'finished', report: report(5, 0), dest: DEST, folder: 'folder-1' });
    await waitFor(() => expect(step()).toBe('done'));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(messages.it.backupDoneHeading);
    expect(screen.getByTestId('backup-downloaded')).toHaveTextContent('Messaggi salvati ora: 5');
    expect(screen.getByTestId('backup-already')).toHaveAttribute('data-count', '0');
    expect(screen.queryByTestId('backup-resumed')).toBeNull();
    expect(screen.getByTestId('backup-verified')).toHaveTextContent(/^Sì/);
    expect(screen.queryByTestId('backup-no-folders')).toBeNull();
    const rows = within(screen.getByTestId('backup-folders')).getAllByRole('row').slice(1);
    const cells = rows.map((r) => Array.from(r.children, (c) => c.textContent?.trim()));
    expect(cells).toEqual([
      ['INBOX', '3', '3'],
      ['Posta inviata', '2', '2'],
    ]);
    expect(screen.getByTestId('backup-where')).toHaveTextContent(DEST);
    expect(screen.getByTestId('backup-where')).toHaveTextContent('.eml');
    expect(screen.getByTestId('backup-where')).toHaveTextContent('index.json');
  });

  test('bytes, the time left and the taskbar’s measure while saving; “Apri cartella” at the end', async () => {
    const user = userEvent.setup();
    const run = runs();
    const backend = renderBackup({ backupStart: run.start });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    run.emit({ kind: 'progress', phase: 'saving', done: 2, total: 5, bytes: 12_500_000, bytes_total: 50_000_000, eta_seconds: null, folder: 'INBOX' });
    expect(await screen.findByTestId('backup-bytes')).toHaveTextContent('12,5 MB di 50 MB');
    // Bytes, not messages: a few messages with attachments are most of a mailbox.
    const bar = screen.getByRole('progressbar', { name: messages.it.backupProgressLabel });
    expect(bar).toHaveAttribute('value', '12500000');
    expect(bar).toHaveAttribute('max', '50000000');
    expect(screen.queryByTestId('backup-eta')).toBeNull();
    run.emit({ kind: 'progress', phase: 'saving', done: 3, total: 5, bytes: 20_000_000, bytes_total: 50_000_000, eta_seconds: 3900, folder: 'INBOX' });
    await waitFor(() => expect(screen.getByTestId('backup-eta')).toHaveTextContent('Tempo rimanente stimato: 1 h 5 min'));
    run.emit({ kind: 'progress', phase: 'saving', done: 4, total: 5, bytes: 49_000_000, bytes_total: 50_000_000, eta_seconds: 20, folder: 'INBOX' });
    await waitFor(() => expect(screen.getByTestId('backup-eta')).toHaveTextContent('meno di un minuto'));

    run.emit({ kind: 'finished', report: report(5, 0), dest: DEST, folder: 'folder-1' });
    await waitFor(() => expect(step()).toBe('done'));
    await user.click(screen.getByRole('button', { name: messages.it.backupOpenFolder }));
    // The token of the folder written to, never its path.
    expect(backend.mock('backupOpenFolder')).toHaveBeenCalledWith('folder-1');
  });

  test('a second run into the same folder says how many were already saved, in the plural', async () => {
    const user = userEvent.setup();
    const run = runs();
    renderBackup({ backupStart: run.start });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    run.emit({ kind: 'finished', report: report(5, 0), dest: DEST, folder: 'folder-1' });
    await waitFor(() => expect(step()).toBe('done'));

    await user.click(screen.getByTestId('backup-again'));
    expect(step()).toBe('form');
    // Server, user and folder stay; the password is asked again.
    expect(screen.getByLabelText(`${messages.it.backupDest} *`)).toHaveValue(DEST);
    expect(screen.getByLabelText(`${messages.it.backupPassword} *`)).toHaveValue('');
    await user.type(screen.getByLabelText(`${messages.it.backupPassword} *`), 'app-password');
    await user.click(screen.getByTestId('backup-start'));
    run.emit({ kind: 'finished', report: report(2, 5), dest: DEST, folder: 'folder-1' });
    await waitFor(() => expect(step()).toBe('done'));
    expect(screen.getByTestId('backup-downloaded')).toHaveTextContent('Messaggi salvati ora: 2');
    expect(screen.getByTestId('backup-already')).toHaveTextContent('Già salvati in precedenza in questa cartella: 5');
    expect(screen.getByTestId('backup-resumed')).toHaveTextContent('5 messaggi erano già salvati');
  });

  test('a server that lists no folder is told: the inbox was saved anyway', async () => {
    const user = userEvent.setup();
    const run = runs();
    renderBackup({ backupStart: run.start });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    run.emit({ kind: 'finished', report: report(3, 0, true), dest: DEST, folder: 'folder-1' });
    expect(await screen.findByTestId('backup-no-folders')).toHaveTextContent('salvata comunque la posta in arrivo (INBOX)');
  });

  test('one message already saved is said in the singular', async () => {
    const user = userEvent.setup();
    const run = runs();
    renderBackup({ backupStart: run.start });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    run.emit({ kind: 'finished', report: report(0, 1), dest: DEST, folder: 'folder-1' });
    expect(await screen.findByTestId('backup-resumed')).toHaveTextContent('1 messaggio era già salvato');
  });

  test('cancel stops the run and says a new start resumes', async () => {
    const user = userEvent.setup();
    const run = runs();
    const backend = renderBackup({ backupStart: run.start, backupCancel: true });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('running'));
    run.emit({ kind: 'progress', phase: 'saving', done: 1, total: 5, bytes: 1000, bytes_total: 0, eta_seconds: null, folder: 'INBOX' });
    await user.click(screen.getByTestId('backup-cancel'));
    expect(backend.calls).toContain('backupCancel');
    run.emit({ kind: 'failed', error: { code: 'backup.cancelled', message_it: 'Interrotto.', message_en: 'Stopped.' } });
    await waitFor(() => expect(step()).toBe('form'));
    expect(screen.getByTestId('backup-notice')).toHaveTextContent(messages.it.backupCancelledNotice);
    expect(screen.getByTestId('backup-notice')).toHaveAttribute('role', 'status');
    expect(screen.queryByRole('alert')).toBeNull();
  });

  test.each(['it', 'en'] as const)('a wrong password is an alert with the app-password hint (%s)', async (lang) => {
    const user = userEvent.setup();
    const refused = {
      code: 'backup.auth_failed',
      message_it: 'Nome utente o password rifiutati: con la verifica in due passaggi serve una password per le app.',
      message_en: 'User name or password refused: with two-step login you need an app password.',
    };
    renderBackup({ backupStart: (_f, _p, onEvent) => onEvent({ kind: 'failed', error: refused }) }, lang);
    await fillForm(user, lang, 'webmail-password');
    await user.click(screen.getByTestId('backup-start'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'backup.auth_failed');
    expect(alert).toHaveTextContent(lang === 'it' ? 'password per le app' : 'app password');
    await waitFor(() => expect(alert).toHaveFocus());
    expect(step()).toBe('form');
    // What was typed stays, except the password.
    expect(screen.getByLabelText(`${messages[lang].backupHost} *`)).toHaveValue('imaps.pec.example.it');
    expect(screen.getByLabelText(`${messages[lang].backupPassword} *`)).toHaveValue('');
  });

  test('the folder cannot be typed: only a folder Rust offered goes back, as its token', async () => {
    const user = userEvent.setup();
    const run = runs();
    const backend = renderBackup({ backupStart: run.start });
    const dest = screen.getByLabelText(`${messages.it.backupDest} *`);
    await waitFor(() => expect(dest).toHaveValue(SUGGESTED));
    expect(dest).toHaveAttribute('readonly');
    await user.type(dest, '/home/mario/.config/autostart');
    expect(dest).toHaveValue(SUGGESTED);
    await user.type(screen.getByLabelText(`${messages.it.backupHost} *`), 'imaps.pec.example.it');
    await user.type(screen.getByLabelText(`${messages.it.backupPassword} *`), 'pw');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(backend.calls).toContain('backupStart'));
    expect(backend.mock('backupStart').mock.calls[0]![0]).toMatchObject({ dest: 'folder-0' });
  });

  test('the server the provider published is shown, not typed, and it is what goes back', async () => {
    const user = userEvent.setup();
    const run = runs();
    const published = 'imaps.pec.provider.it';
    const backend = renderBackup({ backupStart: run.start, backupDefaults: { ...DEFAULTS, host: published, host_published: true, port: 995 } });
    const host = screen.getByLabelText(`${messages.it.backupHost} *`);
    await waitFor(() => expect(host).toHaveValue(published));
    expect(host).toHaveAttribute('readonly');
    expect(host).toHaveAccessibleDescription(messages.it.backupHostPublishedHelp);
    await user.type(host, '.attacker.example');
    expect(host).toHaveValue(published);
    // The port stays the user's: it reaches nothing but that server.
    const port = screen.getByLabelText(`${messages.it.backupPort} *`);
    expect(port).toHaveValue('995');
    expect(port).not.toHaveAttribute('readonly');
    await user.type(screen.getByLabelText(`${messages.it.backupPassword} *`), 'pw');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(backend.calls).toContain('backupStart'));
    expect(backend.mock('backupStart').mock.calls[0]![0]).toMatchObject({ host: published, port: 995 });
  });

  test('with no folder offered, the form asks for one before sending', async () => {
    const user = userEvent.setup();
    const backend = renderBackup({ backupDefaults: { ...DEFAULTS, dest: null } });
    await waitFor(() => expect(screen.getByLabelText(messages.it.backupUser)).toHaveValue(ADDRESS));
    await user.type(screen.getByLabelText(`${messages.it.backupHost} *`), 'imaps.pec.example.it');
    await user.type(screen.getByLabelText(`${messages.it.backupPassword} *`), 'pw');
    await user.click(screen.getByTestId('backup-start'));
    expect(await screen.findByTestId('backup-dest-error')).toHaveTextContent(messages.it.backupDestRequired);
    expect(backend.calls).not.toContain('backupStart');
  });

  test('the folder picker fills the field; closing it changes nothing', async () => {
    const user = userEvent.setup();
    const backend = renderBackup({ backupPickFolder: [{ token: 'folder-1', path: '/media/usb/PEC' }, null] });
    const dest = screen.getByLabelText(`${messages.it.backupDest} *`);
    await waitFor(() => expect(dest).toHaveValue(SUGGESTED));
    await user.click(screen.getByRole('button', { name: 'Scegli cartella…' }));
    await waitFor(() => expect(dest).toHaveValue('/media/usb/PEC'));
    expect(dest).toHaveFocus();
    expect(backend.mock('backupPickFolder')).toHaveBeenLastCalledWith(SUGGESTED);
    await user.click(screen.getByTestId('backup-pick'));
    await waitFor(() => expect(backend.mock('backupPickFolder')).toHaveBeenCalledTimes(2));
    expect(dest).toHaveValue('/media/usb/PEC');
  });

  test('keyboard only: tab through the form and start with Enter', async () => {
    const user = userEvent.setup();
    const backend = renderBackup({ backupStart: (_f, _p, onEvent) => onEvent({ kind: 'finished', report: report(5, 0), dest: DEST, folder: 'folder-1' }) });
    await fillForm(user, 'it');
    screen.getByLabelText(`${messages.it.backupHost} *`).focus();
    const order = [];
    for (let i = 0; i < 6; i++) {
      order.push(document.activeElement?.getAttribute('data-testid'));
      await user.tab();
    }
    expect(order).toEqual(['backup-host', 'backup-port', 'backup-user', 'backup-password', 'backup-dest', 'backup-pick']);
    expect(document.activeElement).toHaveAttribute('data-testid', 'backup-start');
    await user.keyboard('{Enter}');
    await waitFor(() => expect(step()).toBe('done'));
    expect(backend.calls).toContain('backupStart');
  });

  test('a busy run elsewhere is offered to be stopped', async () => {
    const user = userEvent.setup();
    const busy = failure('backup.busy', 'È già in corso un salvataggio.');
    const backend = renderBackup({ backupStart: busy, backupCancel: true });
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await user.click(await screen.findByTestId('backup-cancel-other'));
    expect(backend.calls).toContain('backupCancel');
  });

  test('reachable from the mailbox page, and back', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({
      mailboxList: [mailbox('solo@pec.sandbox.test')],
      notificationList: [],
      mailboxExpiries: [],
      draftLoad: null,
      backupDefaults: DEFAULTS,
    });
    renderWithApp(Shell, { account: 'acc-single', onsignout: vi.fn() }, backend);
    await user.click(await screen.findByRole('button', { name: 'Salva una copia dei messaggi' }));
    expect(screen.getByTestId('backup')).toHaveAttribute('data-step', 'form');
    expect(screen.getByTestId('backup-mailbox')).toHaveTextContent('solo@pec.sandbox.test');
    await user.click(screen.getByTestId('backup-back'));
    expect(screen.queryByTestId('backup')).toBeNull();
    expect(screen.getByTestId('mailbox-title')).toHaveTextContent('solo@pec.sandbox.test');
  });
});
