import { screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Shell from './Shell.svelte';
import { MARIO, STUDIO, banner, mailbox, request, studio } from './fixtures';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

function account(over: Script = {}) {
  return stubBackend({
    mailboxList: [mailbox(MARIO), studio()],
    notificationList: [banner(MARIO)],
    mailboxExpiries: [],
    draftLoad: null,
    ...over,
  });
}

function renderShell(backend: ReturnType<typeof account>, lang: 'it' | 'en' = 'it') {
  const onexpired = vi.fn();
  const onsignout = vi.fn();
  renderWithApp(Shell, { account: 'acc-demo-mario', onsignout }, backend, lang, onexpired);
  return { onexpired, onsignout };
}

describe('Shell', () => {
  test('lists the mailboxes with their states and the star on the qualified one', async () => {
    renderShell(account());
    const nav = await screen.findByRole('navigation', { name: 'Le tue caselle PEC' });
    const mario = within(nav).getByTestId(`mailbox-${MARIO}`);
    const other = within(nav).getByTestId(`mailbox-${STUDIO}`);
    expect(mario).toHaveTextContent('Da confermare');
    expect(within(mario).queryByRole('img')).toBeNull();
    expect(other).toHaveTextContent('Completato');
    expect(within(other).getByRole('img', { name: 'Casella qualificata e identificata (stella europea)' })).toBeInTheDocument();
  });

  test('shows the overview of several mailboxes with counts per state', async () => {
    const boxes = [
      mailbox(MARIO),
      studio(),
      mailbox('fatture@pec.acme-srl.test', { identity_state: 'documents_missing', identity_state_label_it: 'Documenti mancanti' }),
      mailbox('altra@pec.acme-srl.test', { identity_state: 'checks_in_progress', identity_state_label_it: 'Verifiche in corso' }),
    ];
    renderShell(account({ mailboxList: boxes }));
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
    renderShell(account({ mailboxList: [mailbox('solo@pec.sandbox.test')], notificationList: [] }));
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent('solo@pec.sandbox.test');
    expect(screen.queryByTestId('nav-overview')).toBeNull();
    expect(screen.getByTestId('state-help')).toHaveTextContent('Il riconoscimento non è stato ancora eseguito');
  });

  test('the bell counts unread notifications and marks them read', async () => {
    const user = userEvent.setup();
    const backend = account({ notificationMarkRead: undefined });
    renderShell(backend);
    const bell = await screen.findByRole('button', { name: 'Notifiche, 1 non letta' });
    expect(bell).toHaveAttribute('aria-expanded', 'false');
    await user.click(bell);
    const panel = screen.getByRole('region', { name: 'Notifiche' });
    expect(panel).toHaveTextContent('Adegua la tua PEC agli standard europei');
    await user.click(within(panel).getByRole('button', { name: 'Segna come letta' }));
    expect(await screen.findByRole('button', { name: 'Notifiche' })).toBeInTheDocument();
    expect(backend.mock('notificationMarkRead')).toHaveBeenCalledWith(`banner:${MARIO}`);
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('region', { name: 'Notifiche' })).toBeNull();
    expect(screen.getByRole('button', { name: 'Notifiche' })).toHaveFocus();
  });

  test('the banner invites to confirm the identity and opens that mailbox', async () => {
    const user = userEvent.setup();
    const backend = account({ identityStart: request('choosing_role'), draftSave: undefined });
    renderShell(backend);
    const b = await screen.findByTestId(`banner-${MARIO}`);
    expect(b).toHaveTextContent('Adegua la tua PEC agli standard europei');
    await user.click(within(b).getByRole('button', { name: 'Conferma identità' }));
    const wizard = await screen.findByTestId('wizard');
    expect(wizard).toHaveTextContent(`Conferma identità – ${MARIO}`);
    expect(await screen.findByRole('heading', { name: 'Chi sta confermando l’identità?' })).toBeInTheDocument();
    expect(backend.mock('identityStart')).toHaveBeenCalledWith(MARIO);
    // The open procedure has the room: the banner gives way to it.
    expect(screen.queryByTestId(`banner-${MARIO}`)).toBeNull();
    await user.click(screen.getByTestId('wizard-close'));
    expect(await screen.findByTestId(`banner-${MARIO}`)).toBeInTheDocument();
  });

  test('English labels for states, and plural forms by count', async () => {
    renderShell(account({ notificationList: [banner(MARIO), { ...banner(STUDIO), id: 'other' }] }), 'en');
    const nav = await screen.findByRole('navigation', { name: 'Your PEC mailboxes' });
    expect(nav).toHaveTextContent('To be confirmed');
    expect(nav).toHaveTextContent('Completed');
    expect(screen.getByRole('button', { name: 'Notifications, 2 unread' })).toBeInTheDocument();
  });

  test('an expired session is handed to the parent; other errors are shown', async () => {
    const { onexpired } = renderShell(account({ mailboxList: failure('session.expired', 'Sessione scaduta.') }));
    await vi.waitFor(() => expect(onexpired).toHaveBeenCalled());
    expect(onexpired.mock.calls[0]![0].code).toBe('session.expired');
    expect(screen.queryByTestId('shell-error')).toBeNull();

    renderShell(account({ mailboxList: failure('provider.unreachable', 'Impossibile contattare il fornitore.') }));
    expect(await screen.findByTestId('shell-error')).toHaveTextContent('Impossibile contattare il fornitore.');
  });

  test('sign-out calls the backend and tells the parent', async () => {
    const user = userEvent.setup();
    const backend = account({ sessionSignOut: undefined });
    const { onsignout } = renderShell(backend);
    await user.click(await screen.findByRole('button', { name: 'Esci' }));
    expect(onsignout).toHaveBeenCalled();
    expect(backend.calls).toContain('sessionSignOut');
  });
});
