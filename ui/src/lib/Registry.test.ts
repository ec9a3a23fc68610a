import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import Registry from './Registry.svelte';
import Shell from './Shell.svelte';
import { fakeBackend, mailbox } from './fake-backend';
import { FAKE_LINK_BASE, FAKE_REGISTRY_PASSWORD, FAKE_REGISTRY_USER } from './fake-registry';
import { messages } from './i18n';

const NEW_PEC = 'mario.rossi@pec.nuovo.test';

function renderRegistry(lang: 'it' | 'en' = 'it') {
  const backend = fakeBackend();
  render(Registry, { backend, m: messages[lang], lang });
  return backend;
}

async function signedIn(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByLabelText('Nome utente'), FAKE_REGISTRY_USER);
  await user.type(screen.getByLabelText('Password'), FAKE_REGISTRY_PASSWORD);
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
    const backend = renderRegistry();
    await signedIn(user);
    expect(screen.getByTestId('reg-current-pec')).toHaveTextContent('mario.rossi@pec.sandbox.test');

    await user.click(screen.getByTestId('reg-edit-open'));
    await user.type(screen.getByLabelText('Nuova PEC *'), 'mario.rossi@pec.sandbox.test');
    await user.click(screen.getByTestId('reg-send'));
    expect(screen.getByTestId('reg-new-pec-error')).toHaveTextContent('uguale a quella già comunicata');
    await user.clear(screen.getByLabelText('Nuova PEC *'));
    await user.type(screen.getByLabelText('Nuova PEC *'), NEW_PEC);
    await user.type(screen.getByLabelText('Conferma Nuova PEC *'), 'altro@pec.nuovo.test');
    await user.click(screen.getByTestId('reg-send'));
    expect(screen.getByTestId('reg-confirm-pec-error')).toHaveTextContent('non coincidono');
    expect(backend.calls).not.toContain('registryRequestChange');

    await user.clear(screen.getByLabelText('Conferma Nuova PEC *'));
    await user.type(screen.getByLabelText('Conferma Nuova PEC *'), NEW_PEC);
    await user.click(screen.getByTestId('reg-send'));
    await waitFor(() => expect(screen.getByTestId('registry')).toHaveAttribute('data-step', 'record'));
    // Received 21 November: the link works until 24:00 of 22 November, Italian time.
    expect(screen.getByTestId('registry-notice')).toHaveTextContent('entro le ore 24 del giorno 22 novembre 2026');
    expect(screen.getByTestId('registry-notice')).toHaveTextContent('cartella spam');
    const change = screen.getByTestId('reg-changes').querySelector('li')!;
    expect(change).toHaveAttribute('data-state', 'pending');
    expect(within(change).getByTestId('reg-change-state')).toHaveTextContent('In attesa di conferma');
    expect(within(change).getByTestId('reg-change-deadline')).toHaveTextContent('ore 24 del giorno 22 novembre 2026 (ora italiana)');
    expect(within(change).getByTestId('reg-change-local')).toHaveTextContent('2026');

    await user.type(screen.getByLabelText('Link di conferma'), 'https://altrove.test/x');
    await user.click(screen.getByTestId('reg-link-confirm'));
    expect(await screen.findByTestId('registry-error')).toHaveAttribute('data-code', 'registry.link_invalid');
    await user.clear(screen.getByLabelText('Link di conferma'));
    await user.type(screen.getByLabelText('Link di conferma'), `${FAKE_LINK_BASE}${Object.keys(backend.links)[0]}`);
    await user.click(screen.getByTestId('reg-link-confirm'));
    expect(await screen.findByTestId('registry-notice')).toHaveTextContent(`Fatto: ${NEW_PEC} è ora la PEC registrata.`);
    expect(screen.getByTestId('reg-current-pec')).toHaveTextContent(NEW_PEC);
    expect(screen.getByTestId('reg-changes').querySelector('li')).toHaveAttribute('data-state', 'confirmed');
  });

  test('a link used after its deadline shows the error and offers a new request', async () => {
    const user = userEvent.setup();
    const backend = renderRegistry();
    await signedIn(user);
    await requestChange(user);
    // 23 November 00:01 in Rome: one minute too late.
    backend.registryNow = Date.parse('2026-11-22T23:01:00Z');
    await user.type(screen.getByLabelText('Link di conferma'), `${FAKE_LINK_BASE}${Object.keys(backend.links)[0]}`);
    await user.click(screen.getByTestId('reg-link-confirm'));
    const error = await screen.findByTestId('registry-error');
    expect(error).toHaveAttribute('data-code', 'registry.link_expired');
    expect(error).toHaveTextContent('effettua nuovamente la richiesta');
    expect(screen.getByTestId('reg-changes').querySelector('li')).toHaveAttribute('data-state', 'expired');
    await user.click(screen.getByTestId('registry-new-request'));
    expect(screen.getByTestId('reg-edit')).toBeInTheDocument();
    expect(document.activeElement).toBe(screen.getByTestId('registry-title'));
  });

  test('without access to the private area, the questionnaire opens a ticket for the document', async () => {
    const user = userEvent.setup();
    const backend = renderRegistry();
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
    expect(screen.getByTestId('registry-title')).toHaveTextContent('OAM-2026-000001');
    expect(screen.getByTestId('ticket-state')).toHaveTextContent('In attesa del documento di riconoscimento');
    const file = new File([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d])], 'carta-identita.pdf', { type: 'application/pdf' });
    await user.upload(screen.getByTestId('ticket-file'), file);
    expect(await screen.findByTestId('ticket-document')).toHaveTextContent('carta-identita.pdf');
    expect(screen.getByTestId('ticket-state')).toHaveTextContent('In lavorazione');
    expect(backend.tickets['OAM-2026-000001']!.category).toBe('private_area');
  });

  test('English throughout, and a wrong password is explained', async () => {
    const user = userEvent.setup();
    renderRegistry('en');
    expect(screen.getByTestId('registry-title')).toHaveTextContent('Change of the PEC address on record');
    await user.type(screen.getByLabelText('User name'), FAKE_REGISTRY_USER);
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByTestId('reg-signin'));
    expect(await screen.findByTestId('registry-error')).toHaveTextContent('Wrong user name or password.');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });
});

describe('Mailbox expiry in the shell', { timeout: 30_000 }, () => {
  test('days to expiry in the list, and the grace period with the cessation day', async () => {
    const backend = fakeBackend();
    backend.session = 'acc-demo-mario';
    const address = 'mario.rossi@pec.sandbox.test';
    backend.accounts['acc-demo-mario']!.mailboxes = [
      mailbox(address, { expires_on: '2026-11-10' }),
      mailbox('studio.rossi@pec.sandbox.test', { expires_on: '2027-11-10' }),
    ];
    backend.expiries[address] = {
      expires_on: '2026-11-10',
      today: '2026-11-22',
      days_to_expiry: -12,
      status: 'expired',
      reminder_from: '2026-10-11',
      renewable_until: '2026-12-10',
      ceases_on: '2026-12-11',
      offer_backup: true,
    };
    backend.expiries['studio.rossi@pec.sandbox.test'] = {
      expires_on: '2027-11-10',
      today: '2026-11-22',
      days_to_expiry: 353,
      status: 'active',
      reminder_from: '2027-10-11',
      renewable_until: '2027-12-10',
      ceases_on: '2027-12-11',
      offer_backup: false,
    };
    const user = userEvent.setup();
    render(Shell, {
      backend,
      m: messages.it,
      lang: 'it',
      account: 'acc-demo-mario',
      onexpired: () => {},
      onsignout: () => {},
    });
    const nav = await screen.findByTestId(`mailbox-${address}`);
    await waitFor(() => expect(within(nav).getByTestId('expiry-badge')).toHaveTextContent('Scaduta da 12 giorni'));
    expect(within(screen.getByTestId('mailbox-studio.rossi@pec.sandbox.test')).getByTestId('expiry-badge')).toHaveTextContent(
      'Scade tra 353 giorni',
    );
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
});
