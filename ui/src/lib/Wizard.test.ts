import { render, screen, within, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Wizard from './Wizard.svelte';
import Shell from './Shell.svelte';
import { fakeBackend, FAKE_OTP, FAKE_PIN, type FakeBackend } from './fake-backend';
import { messages } from './i18n';

const ADDRESS = 'mario.rossi@pec.sandbox.test';

function signedIn(): FakeBackend {
  const backend = fakeBackend();
  backend.session = 'acc-demo-mario';
  backend.keyring = 'acc-demo-mario';
  return backend;
}

function renderWizard(backend: FakeBackend, lang: 'it' | 'en' = 'it', resume: Record<string, string> | null = null) {
  const mailbox = backend.accounts['acc-demo-mario']!.mailboxes[0]!;
  const props = { backend, m: messages[lang], lang, mailbox, resume, onclose: vi.fn(), onexpired: vi.fn(), onchanged: vi.fn() };
  render(Wizard, props);
  return props;
}

async function step(name: string) {
  await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', name), { timeout: 5000 });
}

/** Role → private citizen → data → summary → method list. */
async function toMethods(user: ReturnType<typeof userEvent.setup>) {
  await step('choosing_role');
  await user.click(screen.getByTestId('role-holder'));
  await user.click(screen.getByTestId('role-confirm'));
  await step('choosing_holder_kind');
  await user.click(screen.getByTestId('kind-private'));
  await user.click(screen.getByTestId('kind-confirm'));
  await step('entering_data');
  await user.type(screen.getByLabelText('Nome *'), 'Mario');
  await user.type(screen.getByLabelText('Cognome *'), 'Rossi');
  await user.type(screen.getByLabelText('Codice fiscale *'), 'rssmra45c12f205c');
  await user.type(screen.getByLabelText('E-mail *'), 'mario@example.com');
  await user.click(screen.getByTestId('data-confirm'));
  await step('summary');
  await user.click(screen.getByTestId('summary-proceed'));
  await step('choosing_method');
}

describe('Wizard', { timeout: 30_000 }, () => {
  test('walks the card path to completion, with the star and the success message', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    const props = renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await step('identifying');
    expect(await screen.findByTestId('card-owner')).toHaveTextContent('Mario Rossi');
    expect(screen.getByTestId('card-matches')).toBeInTheDocument();
    await user.type(screen.getByTestId('pin'), FAKE_PIN);
    await user.click(screen.getByTestId('card-sign'));
    await step('identified');
    await user.click(screen.getByTestId('proceed'));
    await step('accepting_terms');
    const complete = screen.getByTestId('complete-request');
    expect(complete).toBeDisabled();
    await user.click(screen.getByTestId('terms-service'));
    await user.click(screen.getByTestId('terms-contract'));
    await user.click(complete);
    await step('otp_sent');
    expect(screen.getByTestId('otp-timer')).toHaveTextContent(/Il codice scade tra (60|59) secondi/);
    await user.type(screen.getByTestId('otp'), FAKE_OTP);
    await user.click(screen.getByTestId('otp-confirm'));
    await step('completed');
    expect(screen.getByRole('img', { name: messages.it.starLabel })).toBeInTheDocument();
    expect(props.onchanged).toHaveBeenCalled();
    expect(backend.draft).toBeNull();
  });

  test('a wrong PIN shows the tries left and is never sent again by itself', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await user.type(await screen.findByTestId('pin'), '11111111');
    await user.click(screen.getByTestId('card-sign'));
    const alert = await screen.findByTestId('card-error');
    expect(alert).toHaveTextContent('Restano 2 tentativi');
    expect(await screen.findByTestId('card-pin')).toHaveTextContent('2 rimasti');
    expect(backend.pinsSent).toEqual(['11111111']);
    expect(screen.getByTestId('pin')).toHaveValue('');
    expect(screen.getByTestId('card-sign')).toBeDisabled();
  });

  test('the pre-flight stops a card of someone else before the provider', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    backend.cardCheck = {
      ...backend.cardCheck,
      tax_code: 'BNCGLI85C55F205C',
      tax_code_matches: false,
      problems: [{ code: 'card.tax_code_mismatch', message_it: 'Questa carta è di BNCGLI85C55F205C', message_en: 'This card belongs to BNCGLI85C55F205C' }],
    };
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-digital_signature'));
    expect(await screen.findByTestId('preflight-problems')).toHaveTextContent('Questa carta è di BNCGLI85C55F205C');
    expect(screen.queryByTestId('pin')).toBeNull();
    expect(backend.calls).not.toContain('cardIdentify');
  });

  test('invalid data is explained field by field and nothing is sent', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend, 'en');
    await step('choosing_role');
    await user.click(screen.getByTestId('role-holder'));
    await user.click(screen.getByTestId('role-confirm'));
    await user.click(await screen.findByTestId('kind-private'));
    await user.click(screen.getByTestId('kind-confirm'));
    await step('entering_data');
    await user.type(screen.getByLabelText('Codice fiscale *'), 'NOTACODE');
    await user.click(screen.getByTestId('data-confirm'));
    expect(await screen.findByTestId('f-tax_code-error')).toHaveTextContent('Invalid value.');
    expect(screen.getByTestId('f-email-error')).toHaveTextContent('Required field.');
    expect(screen.getByLabelText('Codice fiscale *')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'entering_data');
  });

  test('delegation sends the link to the holder', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await step('choosing_role');
    await user.click(screen.getByTestId('role-other'));
    await user.click(screen.getByTestId('role-confirm'));
    await step('awaiting_holder_email');
    await user.type(screen.getByLabelText('E-mail del titolare'), 'titolare@example.com');
    await user.click(screen.getByTestId('send-link'));
    await step('delegation_link_sent');
    expect(screen.getByTestId('link-sent')).toHaveTextContent('titolare@example.com');
  });

  test('CIE says plainly it is coming and changes nothing', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cie'));
    expect(screen.getByTestId('cie-coming')).toHaveTextContent('arriverà in un prossimo aggiornamento');
    expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'choosing_method');
  });

  test('SPID shows the QR code and follows the login to the end', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-spid'));
    await user.click(await screen.findByTestId('spid-start'));
    expect(await screen.findByTestId('spid-pending')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: 'Codice QR' })).toBeInTheDocument();
    expect(backend.calls).toContain('spidOpen');
    backend.spidStatus = 'authorised';
    await step('identified');
  });

  test('webcam: a slot is booked and the operator\'s decision moves the wizard on by itself', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-webcam'));
    await user.click(await screen.findByTestId('webcam-book'));
    const booked = await screen.findByTestId('webcam-booked');
    expect(booked).toHaveAttribute('data-booking', 'b1');
    expect(booked).toHaveTextContent('Videochiamata prenotata');
    // The operator approves in the provider's back office; nothing to click here.
    Object.values(backend.requests)[0]!.step = 'identified';
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'), { timeout: 10_000 });
  });

  test('firma remota: credentials and OTP are sent once', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-remote_signature'));
    const submit = await screen.findByTestId('rs-submit');
    expect(submit).toBeDisabled();
    await user.type(screen.getByLabelText(/Nome utente/), 'firma.mario');
    await user.type(screen.getByLabelText(/Password/), 'Firma-Password-1');
    await user.type(screen.getByLabelText(/OTP/), '123456');
    await user.click(submit);
    await step('identified');
    expect(backend.calls.filter((c) => c === 'remoteSignature')).toHaveLength(1);
  });

  test('a draft is saved as the user types, without secrets, and resumed', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderWizard(backend);
    await step('choosing_role');
    await user.click(screen.getByTestId('role-holder'));
    await user.click(screen.getByTestId('role-confirm'));
    await user.click(await screen.findByTestId('kind-private'));
    await user.click(screen.getByTestId('kind-confirm'));
    await step('entering_data');
    await user.type(screen.getByLabelText('Nome *'), 'Mario');
    await waitFor(() => expect(backend.draft?.fields.first_name).toBe('Mario'));
    expect(backend.draft?.mailbox).toBe(ADDRESS);
    expect(Object.keys(backend.draft!.fields)).not.toContain('pin');
  });

  test('the shell reopens a wizard left open, with the typed fields', async () => {
    const backend = signedIn();
    backend.draft = { mailbox: ADDRESS, request_id: null, fields: { first_name: 'Maria', kind: 'private_citizen' } };
    backend.requests['req-9'] = {
      id: 'req-9', mailbox: ADDRESS, step: 'entering_data', state: 'to_confirm', state_label_it: 'Da confermare',
      holder_kind: 'private_citizen', documents: [], updated_at: '2026-11-22T10:00:00Z',
    };
    render(Shell, { backend, m: messages.it, lang: 'it', account: 'acc-demo-mario', onexpired: vi.fn(), onsignout: vi.fn() });
    await step('entering_data');
    expect(screen.getByTestId('resumed')).toBeInTheDocument();
    expect(screen.getByLabelText('Nome *')).toHaveValue('Maria');
  });

  test('documents are uploaded and sent for review', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    backend.requests['req-1'] = {
      id: 'req-1', mailbox: ADDRESS, step: 'documents_missing', state: 'documents_missing', state_label_it: 'Documenti mancanti',
      practice_number: 'PR-2026-000001', documents: [], updated_at: '2026-11-22T10:00:00Z',
    };
    renderWizard(backend);
    await step('documents_missing');
    expect(screen.getByTestId('practice')).toHaveTextContent('PR-2026-000001');
    expect(screen.getByTestId('docs-submit')).toBeDisabled();
    const file = new File(['%PDF-1.7 test'], 'visura.pdf', { type: 'application/pdf' });
    const picker = screen.getByLabelText(messages.it.docsPick) as HTMLInputElement;
    await waitFor(() => expect(picker).toBeEnabled());
    await user.upload(picker, file);
    expect(within(await screen.findByTestId('documents')).getByText(/visura\.pdf/)).toBeInTheDocument();
    await user.click(screen.getByTestId('docs-submit'));
    await step('checks_in_progress');
  });
});
