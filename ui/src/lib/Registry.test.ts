import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Registry from './registry/Registry.svelte';
import Shell from './Shell.svelte';
import type { FieldCheck, PecChangeView, RegistryView, SupportTicketView } from './backend';
import { MARIO, STUDIO, expiry, mailbox } from './fixtures';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

const NEW_PEC = 'mario.rossi@pec.nuovo.test';
const LINK = 'http://127.0.0.1:9/registry/v1/pec-confirmations/AbCdEf0123456789_-xyz';
const RECORD = {
  username: 'mario.rossi',
  last_name: 'Rossi',
  first_name: 'Mario',
  phone: null,
  mobile: '+393331234567',
  fax: null,
  email: 'mario.rossi@example.com',
  pec: MARIO,
  pending_change: null,
};

function change(state: PecChangeView['state'], over: Partial<PecChangeView> = {}): PecChangeView {
  return {
    id: 'chg-1',
    old_pec: MARIO,
    new_pec: NEW_PEC,
    state,
    state_label_it: state,
    // Received 21 November: the link works until 24:00 of 22 November, Italian time.
    deadline: { received_at: '2026-11-21T10:00:00Z', valid_through: '2026-11-22', expires_at: '2026-11-22T23:00:00Z' },
    confirmed_at: state === 'confirmed' ? '2026-11-21T11:00:00Z' : null,
    notice_it: 'Apri il link entro la scadenza.',
    notice_en: 'Open the link by the deadline.',
    ...over,
  };
}

const view = (changes: PecChangeView[], pec = MARIO): RegistryView => ({ record: { ...RECORD, pec }, changes });
const email = (_kind: string, value: string): FieldCheck =>
  value.includes('@') ? { valid: true, normalized: value, error: null } : { valid: false, normalized: null, error: { code: 'email.invalid', message_it: 'Indirizzo non valido.', message_en: 'Invalid address.' } };

function renderRegistry(over: Script = {}, lang: 'it' | 'en' = 'it') {
  const backend = stubBackend({ registrySignIn: view([]), fieldValidate: email, ...over });
  renderWithApp(Registry, {}, backend, lang);
  return backend;
}

async function signIn(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('Nome utente'), 'mario.rossi');
  await user.type(screen.getByLabelText('Password'), 'Registro-Password-1');
  await user.click(screen.getByTestId('reg-signin'));
  await waitFor(() => expect(screen.getByTestId('registry')).toHaveAttribute('data-step', 'record'));
}

async function requestChange(user: ReturnType<typeof userEvent.setup>) {
  await user.click(screen.getByTestId('reg-edit-open'));
  await user.type(screen.getByLabelText('Nuova PEC *'), NEW_PEC);
  await user.type(screen.getByLabelText('Conferma Nuova PEC *'), NEW_PEC);
  await user.click(screen.getByTestId('reg-send'));
  await waitFor(() => expect(screen.getByTestId('registry')).toHaveAttribute('data-step', 'record'));
}

describe('Registry', { timeout: 30_000 }, () => {
  test('the new PEC is checked before sending, then confirmed with the pasted link', async () => {
    const user = userEvent.setup();
    const backend = renderRegistry({
      registryRequestChange: view([change('pending')]),
      registryConfirmLink: [failure('registry.link_invalid', 'Questo non è un link di conferma del registro.'), change('confirmed')],
      registryView: [view([change('pending')]), view([change('confirmed')], NEW_PEC)],
    });
    await signIn(user);
    expect(backend.mock('registrySignIn')).toHaveBeenCalledWith('mario.rossi', 'Registro-Password-1');
    expect(screen.getByTestId('reg-current-pec')).toHaveTextContent(MARIO);

    await user.click(screen.getByTestId('reg-edit-open'));
    await user.type(screen.getByLabelText('Nuova PEC *'), MARIO);
    await user.click(screen.getByTestId('reg-send'));
    expect(await screen.findByTestId('reg-new-pec-error')).toHaveTextContent('uguale a quella già comunicata');
    await user.clear(screen.getByLabelText('Nuova PEC *'));
    await user.type(screen.getByLabelText('Nuova PEC *'), 'non-un-indirizzo');
    await user.click(screen.getByTestId('reg-send'));
    expect(await screen.findByTestId('reg-new-pec-error')).toHaveTextContent('Indirizzo non valido.');
    await user.clear(screen.getByLabelText('Nuova PEC *'));
    await user.type(screen.getByLabelText('Nuova PEC *'), NEW_PEC);
    await user.type(screen.getByLabelText('Conferma Nuova PEC *'), 'altro@pec.nuovo.test');
    await user.click(screen.getByTestId('reg-send'));
    expect(await screen.findByTestId('reg-confirm-pec-error')).toHaveTextContent('non coincidono');
    expect(backend.calls).not.toContain('registryRequestChange');

    await user.clear(screen.getByLabelText('Conferma Nuova PEC *'));
    await user.type(screen.getByLabelText('Conferma Nuova PEC *'), NEW_PEC);
    await user.click(screen.getByTestId('reg-send'));
    await waitFor(() => expect(backend.mock('registryRequestChange')).toHaveBeenCalledWith(NEW_PEC, NEW_PEC));
    expect(await screen.findByTestId('registry-notice')).toHaveTextContent('entro le ore 24 del giorno 22 novembre 2026');
    expect(screen.getByTestId('registry-notice')).toHaveTextContent('cartella spam');
    const item = screen.getByTestId('reg-changes').querySelector('li')!;
    expect(item).toHaveAttribute('data-state', 'pending');
    expect(within(item).getByTestId('reg-change-state')).toHaveTextContent('In attesa di conferma');
    expect(within(item).getByTestId('reg-change-deadline')).toHaveTextContent('ore 24 del giorno 22 novembre 2026 (ora italiana)');
    expect(within(item).getByTestId('reg-change-local')).toHaveTextContent('2026');

    await user.type(screen.getByLabelText('Link di conferma'), 'https://altrove.test/x');
    await user.click(screen.getByTestId('reg-link-confirm'));
    expect(await screen.findByTestId('registry-error')).toHaveAttribute('data-code', 'registry.link_invalid');
    await user.clear(screen.getByLabelText('Link di conferma'));
    await user.type(screen.getByLabelText('Link di conferma'), LINK);
    await user.click(screen.getByTestId('reg-link-confirm'));
    expect(await screen.findByTestId('registry-notice')).toHaveTextContent(`Fatto: ${NEW_PEC} è ora la PEC registrata.`);
    expect(backend.mock('registryConfirmLink')).toHaveBeenLastCalledWith(LINK);
    await waitFor(() => expect(screen.getByTestId('reg-current-pec')).toHaveTextContent(NEW_PEC));
    expect(screen.getByTestId('reg-changes').querySelector('li')).toHaveAttribute('data-state', 'confirmed');
  });

  test('a link used after its deadline shows the error and offers a new request', async () => {
    const user = userEvent.setup();
    renderRegistry({
      registryRequestChange: view([change('pending')]),
      registryConfirmLink: failure('registry.link_expired', 'Il link è scaduto: effettua nuovamente la richiesta.'),
      registryView: view([change('expired')]),
    });
    await signIn(user);
    await requestChange(user);
    await user.type(screen.getByLabelText('Link di conferma'), LINK);
    await user.click(screen.getByTestId('reg-link-confirm'));
    const error = await screen.findByTestId('registry-error');
    expect(error).toHaveAttribute('data-code', 'registry.link_expired');
    expect(error).toHaveTextContent('effettua nuovamente la richiesta');
    await waitFor(() => expect(screen.getByTestId('reg-changes').querySelector('li')).toHaveAttribute('data-state', 'expired'));
    await user.click(screen.getByTestId('registry-new-request'));
    expect(screen.getByTestId('reg-edit')).toBeInTheDocument();
    expect(document.activeElement).toBe(screen.getByTestId('registry-title'));
  });

  test('without access to the private area, the questionnaire opens a ticket for the document', async () => {
    const user = userEvent.setup();
    const ticket: SupportTicketView = {
      number: 'OAM-2026-000001',
      category: 'private_area',
      topic: 'pec_change',
      state: 'awaiting_document',
      state_label_it: 'In attesa del documento',
      document: null,
      created_at: '2026-11-22T10:00:00Z',
      updated_at: '2026-11-22T10:00:00Z',
      notice_it: 'Allega un documento di riconoscimento.',
      notice_en: 'Attach an identity document.',
    };
    const attached = { ...ticket, state: 'in_review' as const, document: { id: 'doc-1', filename: 'carta-identita.pdf', media_type: 'application/pdf', size: 5, uploaded_at: '2026-11-22T10:05:00Z' } };
    const backend = renderRegistry({ supportOpen: ticket, supportAttach: attached });
    await user.click(screen.getByTestId('reg-no-access'));
    expect(screen.getByTestId('registry')).toHaveAttribute('data-step', 'support');
    await user.selectOptions(screen.getByLabelText('Seleziona la tipologia di problema tecnico'), 'private_area');
    await user.selectOptions(screen.getByLabelText('Quali informazioni desideri in particolare?'), 'pec_change');
    await user.click(screen.getByTestId('sup-access-yes'));
    expect(screen.getByRole('status')).toHaveTextContent('Modifica dati di registrazione');
    await user.click(screen.getByTestId('sup-access-no'));
    const form = screen.getByTestId('sup-questionnaire');
    await user.type(within(form).getByLabelText(/Perché/), 'Password dimenticata');
    await user.type(within(form).getByLabelText('Nome *'), 'Mario');
    await user.type(within(form).getByLabelText('Cognome *'), 'Rossi');
    await user.type(within(form).getByLabelText('Codice fiscale *'), 'RSSMRA45C12F205C');
    await user.type(within(form).getByLabelText('Telefono *'), '0612345678');
    await user.type(within(form).getByLabelText('Nuova PEC *'), NEW_PEC);
    await user.click(screen.getByTestId('sup-send'));
    await waitFor(() => expect(screen.getByTestId('registry')).toHaveAttribute('data-step', 'ticket'));
    expect(backend.mock('supportOpen').mock.calls[0]![0]).toMatchObject({
      category: 'private_area',
      topic: 'pec_change',
      private_area_access: false,
      questionnaire: { reason: 'Password dimenticata', tax_code: 'RSSMRA45C12F205C', new_pec: NEW_PEC },
    });
    expect(screen.getByTestId('registry-title')).toHaveTextContent('OAM-2026-000001');
    expect(screen.getByTestId('ticket-state')).toHaveTextContent('In attesa del documento di riconoscimento');
    const file = new File([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d])], 'carta-identita.pdf', { type: 'application/pdf' });
    await user.upload(screen.getByTestId('ticket-file'), file);
    expect(await screen.findByTestId('ticket-document')).toHaveTextContent('carta-identita.pdf');
    expect(screen.getByTestId('ticket-state')).toHaveTextContent('In lavorazione');
    expect(backend.mock('supportAttach').mock.calls[0]!.slice(0, 2)).toEqual(['OAM-2026-000001', 'carta-identita.pdf']);
  });

  test('English throughout, and a wrong password is explained', async () => {
    const user = userEvent.setup();
    renderRegistry({ registrySignIn: failure('registry.auth', 'Nome utente o password errati.', 'Wrong user name or password.') }, 'en');
    expect(screen.getByTestId('registry-title')).toHaveTextContent('Change of the PEC address on record');
    await user.type(screen.getByLabelText('User name'), 'mario.rossi');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByTestId('reg-signin'));
    expect(await screen.findByTestId('registry-error')).toHaveTextContent('Wrong user name or password.');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });
});

describe('Mailbox expiry in the shell', { timeout: 30_000 }, () => {
  test('days to expiry in the list, and the grace period with the cessation day', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({
      mailboxList: [mailbox(MARIO, { expires_on: '2026-11-10' }), mailbox(STUDIO, { expires_on: '2027-11-10' })],
      notificationList: [],
      draftLoad: null,
      mailboxExpiries: [
        { address: MARIO, expiry: expiry(-12, { expires_on: '2026-11-10', renewable_until: '2026-12-10', ceases_on: '2026-12-11' }) },
        { address: STUDIO, expiry: expiry(353, { expires_on: '2027-11-10' }) },
      ],
    });
    renderWithApp(Shell, { account: 'acc-demo-mario', onsignout: vi.fn() }, backend);
    const nav = await screen.findByTestId(`mailbox-${MARIO}`);
    await waitFor(() => expect(within(nav).getByTestId('expiry-badge')).toHaveTextContent('Scaduta da 12 giorni'));
    expect(within(screen.getByTestId(`mailbox-${STUDIO}`)).getByTestId('expiry-badge')).toHaveTextContent('Scade tra 353 giorni');
    // One provider call for the whole account, however many mailboxes it holds.
    expect(backend.calls.filter((c) => c === 'mailboxExpiries')).toHaveLength(1);
    await user.click(nav);
    const notice = await screen.findByTestId('expiry-notice');
    expect(notice).toHaveTextContent('Puoi ancora rinnovarla fino al giorno 10 dicembre 2026');
    expect(notice).toHaveTextContent('il giorno 11 dicembre 2026 sarà cessata');
    expect(notice).toHaveTextContent('salva una copia dei messaggi');
    await user.click(screen.getByTestId('nav-registry'));
    expect(await screen.findByTestId('registry')).toHaveAttribute('data-step', 'signin');
  });

  test('a single day is said in the singular', async () => {
    const backend = stubBackend({
      mailboxList: [mailbox(MARIO), mailbox(STUDIO)],
      notificationList: [],
      draftLoad: null,
      mailboxExpiries: [{ address: MARIO, expiry: expiry(1) }],
    });
    renderWithApp(Shell, { account: 'acc-demo-mario', onsignout: vi.fn() }, backend);
    const nav = await screen.findByTestId(`mailbox-${MARIO}`);
    await waitFor(() => expect(within(nav).getByTestId('expiry-badge')).toHaveTextContent('Scade tra 1 giorno'));
  });
});
