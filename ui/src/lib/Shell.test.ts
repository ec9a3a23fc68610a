import { render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Shell from './Shell.svelte';
import { BackendError } from './backend';
import { fakeBackend, mailbox, type FakeBackend } from './fake-backend';
import { messages } from './i18n';

function signedIn(account = 'acc-demo-mario'): FakeBackend {
  const backend = fakeBackend();
  backend.session = account;
  backend.keyring = account;
  return backend;
}

function renderShell(backend: FakeBackend, lang: 'it' | 'en' = 'it', account = 'acc-demo-mario') {
  const onexpired = vi.fn();
  const onsignout = vi.fn();
  render(Shell, { backend, m: messages[lang], lang, account, onexpired, onsignout });
  return { onexpired, onsignout };
}

describe('Shell', () => {
  test('lists the mailboxes with their states and the star on the qualified one', async () => {
    renderShell(signedIn());
    const nav = await screen.findByRole('navigation', { name: 'Le tue caselle PEC' });
    const mario = within(nav).getByTestId('mailbox-mario.rossi@pec.sandbox.test');
    const studio = within(nav).getByTestId('mailbox-studio.rossi@pec.sandbox.test');
    expect(mario).toHaveTextContent('Da confermare');
    expect(within(mario).queryByRole('img')).toBeNull();
    expect(studio).toHaveTextContent('Completato');
    expect(within(studio).getByRole('img', { name: 'Casella qualificata e identificata (stella europea)' })).toBeInTheDocument();
  });

  test('shows the overview of several mailboxes with counts per state', async () => {
    const backend = signedIn();
    backend.accounts['acc-demo-mario']!.mailboxes.push(
      mailbox('fatture@pec.acme-srl.test', { identity_state: 'documents_missing', identity_state_label_it: 'Documenti mancanti' }),
      mailbox('altra@pec.acme-srl.test', { identity_state: 'checks_in_progress', identity_state_label_it: 'Verifiche in corso' }),
    );
    renderShell(backend);
    expect(await screen.findByRole('heading', { name: 'Panoramica delle caselle' })).toBeInTheDocument();
    const table = screen.getByTestId('overview');
    expect(within(table).getAllByRole('row')).toHaveLength(5);
    expect(within(table).getByTestId('row-fatture@pec.acme-srl.test')).toHaveTextContent('Documenti mancanti');
    expect(within(table).getByTestId('row-altra@pec.acme-srl.test')).toHaveTextContent('Verifiche in corso');
    const counts = screen.getByRole('list', { name: 'Stato delle caselle' });
    expect(counts).toHaveTextContent('1 Da confermare');
    expect(counts).toHaveTextContent('1 Completato');
  });

  test('a single mailbox is shown directly, without an overview', async () => {
    renderShell(signedIn('acc-single'), 'it', 'acc-single');
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent('solo@pec.sandbox.test');
    expect(screen.queryByTestId('nav-overview')).toBeNull();
    expect(screen.getByTestId('state-help')).toHaveTextContent('Il riconoscimento non è stato ancora eseguito');
  });

  test('the bell counts unread notifications and marks them read', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderShell(backend);
    const bell = await screen.findByRole('button', { name: 'Notifiche, 1 non lette' });
    expect(bell).toHaveAttribute('aria-expanded', 'false');
    await user.click(bell);
    const panel = screen.getByRole('region', { name: 'Notifiche' });
    expect(panel).toHaveTextContent('Adegua la tua PEC agli standard europei');
    await user.click(within(panel).getByRole('button', { name: 'Segna come letta' }));
    expect(await screen.findByRole('button', { name: 'Notifiche' })).toBeInTheDocument();
    expect(backend.calls).toContain('markNotificationRead');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('region', { name: 'Notifiche' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Notifiche' })).toHaveFocus();
  });

  test('the banner invites to confirm the identity and opens that mailbox', async () => {
    const user = userEvent.setup();
    renderShell(signedIn());
    const banner = await screen.findByTestId('banner-mario.rossi@pec.sandbox.test');
    expect(banner).toHaveTextContent('Adegua la tua PEC agli standard europei');
    await user.click(within(banner).getByRole('button', { name: 'Conferma identità' }));
    const wizard = await screen.findByTestId('wizard');
    expect(wizard).toHaveTextContent('Conferma identità – mario.rossi@pec.sandbox.test');
    expect(await screen.findByRole('heading', { name: 'Chi sta confermando l’identità?' })).toBeInTheDocument();
  });

  test('English labels for states', async () => {
    renderShell(signedIn(), 'en');
    const nav = await screen.findByRole('navigation', { name: 'Your PEC mailboxes' });
    expect(nav).toHaveTextContent('To be confirmed');
    expect(nav).toHaveTextContent('Completed');
  });

  test('an expired session is handed to the parent; other errors are shown', async () => {
    const backend = signedIn();
    backend.expireSession();
    const { onexpired } = renderShell(backend);
    await vi.waitFor(() => expect(onexpired).toHaveBeenCalled());
    expect(onexpired.mock.calls[0]![0].code).toBe('session.expired');

    const other = signedIn();
    other.failNext.listMailboxes = new BackendError({
      code: 'provider.unreachable',
      message_it: 'Impossibile contattare il fornitore.',
      message_en: 'Cannot reach the provider.',
    });
    renderShell(other);
    expect(await screen.findByTestId('shell-error')).toHaveTextContent('Impossibile contattare il fornitore.');
  });

  test('sign-out calls the backend and tells the parent', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    const { onsignout } = renderShell(backend);
    await user.click(await screen.findByRole('button', { name: 'Esci' }));
    expect(onsignout).toHaveBeenCalled();
    expect(backend.keyring).toBeNull();
  });
});
