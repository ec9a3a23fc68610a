import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import Backup from './Backup.svelte';
import Shell from './Shell.svelte';
import { fakeBackend, mailbox } from './fake-backend';
import { FAKE_BACKUP_PASSWORD } from './fake-backup';
import { messages } from './i18n';

const ADDRESS = 'mario.rossi@pec.sandbox.test';
const DEST = '/home/mario/PEC/mario';

function renderBackup(lang: 'it' | 'en' = 'it', twoStep = false) {
  const backend = fakeBackend();
  const box = { ...mailbox(ADDRESS), two_step_login: twoStep };
  let closed = 0;
  render(Backup, { backend, m: messages[lang], lang, mailbox: box, onclose: () => (closed += 1) });
  return { backend, closed: () => closed };
}

type User = ReturnType<typeof userEvent.setup>;

async function fillForm(user: User, lang: 'it' | 'en', password = FAKE_BACKUP_PASSWORD) {
  const m = messages[lang];
  // The prefill (port, user, suggested folder) has arrived.
  await waitFor(() => expect(screen.getByLabelText(m.backupUser)).toHaveValue(ADDRESS));
  await user.type(screen.getByLabelText(`${m.backupHost} *`), 'imaps.pec.example.it');
  await user.type(screen.getByLabelText(`${m.backupPassword} *`), password);
  const dest = screen.getByLabelText(`${m.backupDest} *`);
  await user.clear(dest);
  await user.type(dest, DEST);
}

function step(): string | null {
  return screen.getByTestId('backup').getAttribute('data-step');
}

describe('Backup', { timeout: 30_000 }, () => {
  test('every field is labelled and prefilled; the form checks itself before sending', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup('it', true);
    const m = messages.it;
    await waitFor(() => expect(screen.getByLabelText(m.backupUser)).toHaveValue(ADDRESS));
    expect(screen.getByLabelText(`${m.backupPort} *`)).toHaveValue('993');
    expect(screen.getByLabelText(`${m.backupDest} *`)).toHaveValue(`/home/mario/Documenti/PEC/${ADDRESS}`);
    // Two-step login on: the app password is asked for, with where to make one.
    expect(screen.getByTestId('backup-app-password-hint')).toHaveTextContent('password per le app');
    expect(screen.getByLabelText(`${m.backupPassword} *`)).toHaveAccessibleDescription(/Password per le app di posta/);

    await user.type(screen.getByLabelText(`${m.backupHost} *`), 'imaps://imaps.pec.example.it');
    const port = screen.getByLabelText(`${m.backupPort} *`);
    await user.clear(port);
    await user.type(port, '99999');
    await user.click(screen.getByTestId('backup-start'));
    expect(screen.getByTestId('backup-host-error')).toHaveTextContent(m.backupHostInvalid);
    expect(screen.getByTestId('backup-port-error')).toHaveTextContent(m.backupPortInvalid);
    expect(screen.getByTestId('backup-password-error')).toHaveTextContent(m.backupPasswordRequired);
    expect(screen.getByLabelText(`${m.backupHost} *`)).toHaveFocus();
    expect(backend.calls).not.toContain('backupStart');
  });

  test('progress is shown and announced, then the verified report with per-folder counts', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup();
    backend.backupAuto = false;
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('running'));
    expect(screen.getByRole('heading', { level: 1 })).toHaveFocus();
    // The password went to Rust once and is no longer in the form's state.
    expect(backend.backupRequests).toEqual([
      { address: ADDRESS, host: 'imaps.pec.example.it', port: 993, user: ADDRESS, dest: DEST, password_sent: true },
    ]);

    backend.backupEmit({ kind: 'progress', phase: 'saving', done: 2, total: 5, bytes: 2000, folder: 'INBOX' });
    const status = await screen.findByText('Salvataggio dei messaggi: 2 di 5');
    expect(status).toHaveAttribute('role', 'status');
    const bar = screen.getByRole('progressbar', { name: messages.it.backupProgressLabel });
    expect(bar).toHaveAttribute('value', '2');
    expect(bar).toHaveAttribute('max', '5');
    expect(screen.getByTestId('backup-folder')).toHaveTextContent('Cartella: INBOX');

    backend.backupRunToEnd();
    await waitFor(() => expect(step()).toBe('done'));
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(messages.it.backupDoneHeading);
    expect(screen.getByTestId('backup-downloaded')).toHaveTextContent('Messaggi salvati ora: 5');
    expect(screen.getByTestId('backup-already')).toHaveAttribute('data-count', '0');
    expect(screen.queryByTestId('backup-resumed')).toBeNull();
    expect(screen.getByTestId('backup-verified')).toHaveTextContent(/^Sì/);
    const rows = within(screen.getByTestId('backup-folders')).getAllByRole('row').slice(1);
    const cells = rows.map((r) => Array.from(r.children, (c) => c.textContent?.trim()));
    expect(cells).toEqual([
      ['INBOX', '3', '3'],
      ['Posta inviata', '2', '2'],
    ]);
    expect(screen.getByTestId('backup-where')).toHaveTextContent(`${DEST}`);
    expect(screen.getByTestId('backup-where')).toHaveTextContent('.eml');
    expect(screen.getByTestId('backup-where')).toHaveTextContent('index.json');
  });

  test('a second run into the same folder says how many were already saved', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup();
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('done'));
    expect(screen.getByTestId('backup-downloaded')).toHaveAttribute('data-count', '5');

    // Two new messages arrived in the meantime.
    backend.backupServer.INBOX = 5;
    await user.click(screen.getByTestId('backup-again'));
    expect(step()).toBe('form');
    // Server, user and folder stay; the password is asked again.
    expect(screen.getByLabelText(`${messages.it.backupDest} *`)).toHaveValue(DEST);
    expect(screen.getByLabelText(`${messages.it.backupPassword} *`)).toHaveValue('');
    await user.type(screen.getByLabelText(`${messages.it.backupPassword} *`), FAKE_BACKUP_PASSWORD);
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('done'));
    expect(screen.getByTestId('backup-downloaded')).toHaveTextContent('Messaggi salvati ora: 2');
    expect(screen.getByTestId('backup-already')).toHaveTextContent('Già salvati in precedenza in questa cartella: 5');
    expect(screen.getByTestId('backup-resumed')).toHaveTextContent('5 messaggi erano già salvati');
  });

  test('cancel stops the run and says a new start resumes', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup();
    backend.backupAuto = false;
    await fillForm(user, 'it');
    await user.click(screen.getByTestId('backup-start'));
    await waitFor(() => expect(step()).toBe('running'));
    backend.backupEmit({ kind: 'progress', phase: 'saving', done: 1, total: 5, bytes: 1000, folder: 'INBOX' });
    await user.click(screen.getByTestId('backup-cancel'));
    await waitFor(() => expect(step()).toBe('form'));
    expect(backend.calls).toContain('backupCancel');
    expect(screen.getByTestId('backup-notice')).toHaveTextContent(messages.it.backupCancelledNotice);
    expect(screen.getByTestId('backup-notice')).toHaveAttribute('role', 'status');
    expect(screen.queryByRole('alert')).toBeNull();
    expect(backend.backupRun).toBeNull();
  });

  test.each(['it', 'en'] as const)('a wrong password is an alert with the app-password hint (%s)', async (lang) => {
    const user = userEvent.setup();
    renderBackup(lang);
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

  test('the folder picker fills the field; closing it changes nothing', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup();
    const dest = screen.getByLabelText(`${messages.it.backupDest} *`);
    await waitFor(() => expect(dest).toHaveValue(`/home/mario/Documenti/PEC/${ADDRESS}`));
    backend.backupPicked = '/media/usb/PEC';
    await user.click(screen.getByRole('button', { name: 'Scegli cartella…' }));
    await waitFor(() => expect(dest).toHaveValue('/media/usb/PEC'));
    expect(dest).toHaveFocus();
    backend.backupPicked = null;
    await user.click(screen.getByTestId('backup-pick'));
    await waitFor(() => expect(backend.calls.filter((c) => c === 'backupPickFolder')).toHaveLength(2));
    expect(dest).toHaveValue('/media/usb/PEC');
  });

  test('keyboard only: tab through the form and start with Enter', async () => {
    const user = userEvent.setup();
    const { backend } = renderBackup();
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

  test('reachable from the mailbox page, and back', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    await backend.signInDemo('acc-single');
    render(Shell, {
      backend,
      m: messages.it,
      lang: 'it',
      account: 'acc-single',
      onexpired: () => {},
      onsignout: () => {},
    });
    await user.click(await screen.findByRole('button', { name: 'Salva una copia dei messaggi' }));
    expect(screen.getByTestId('backup')).toHaveAttribute('data-step', 'form');
    expect(screen.getByTestId('backup-mailbox')).toHaveTextContent('solo@pec.sandbox.test');
    await user.click(screen.getByTestId('backup-back'));
    expect(screen.queryByTestId('backup')).toBeNull();
    expect(screen.getByTestId('mailbox-title')).toHaveTextContent('solo@pec.sandbox.test');
  });
});
