import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Shell from './Shell.svelte';
import Wizard from './wizard/Wizard.svelte';
import type { CardCheck, FieldCheck, IdentityRequest } from './backend';
import { MARIO, mailbox, request } from './fixtures';
import { messages } from './i18n';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

type User = ReturnType<typeof userEvent.setup>;

const DRAFT = {
  holder: { kind: 'private_citizen' as const, first_name: 'Mario', last_name: 'Rossi', tax_code: 'RSSMRA45C12F205C' },
  contact: { email: 'mario@example.com', mobile: null },
};
const at = (step: IdentityRequest['step'], over: Partial<IdentityRequest> = {}) => request(step, { draft: DRAFT, ...over });

/** Valid unless the value says NOT; codes come back in capitals, as Rust normalises them. */
function fields(kind: string, value: string): FieldCheck {
  if (value.includes('NOT')) return { valid: false, normalized: null, error: { code: 'cf.length', message_it: 'Valore non valido.', message_en: 'Invalid value.' } };
  // Normalized as Rust does: codes in capitals, an e-mail's domain in lower case.
  const at = value.lastIndexOf('@');
  const normalized = kind === 'email' && at > 0 ? value.slice(0, at) + value.slice(at).toLowerCase() : kind === 'name' || kind === 'email' ? value : value.toUpperCase();
  return { valid: true, normalized, error: null };
}

const READER = { name: 'Virtual PCD 00 00', card: 'cns' as const, card_label: 'Carta Nazionale dei Servizi (STIncard)', atr: '3B FF', busy: false, link: 'contact' as const };
const CHECK: CardCheck = {
  reader: READER.name,
  card_label: READER.card_label,
  serial: '7430010024925855',
  given_name: 'Mario',
  surname: 'Rossi',
  tax_code: 'RSSMRA45C12F205C',
  issuer: 'PEC Desktop Test CNS CA',
  not_after: '2029-11-22T00:00:00Z',
  certificate: 'valid',
  tax_code_matches: true,
  pin: { tries_left: null, blocked: false },
  problems: [],
};

/** The calls of the path role → private citizen → data → summary → methods, then `more`. */
function toMethodsScript(more: Script = {}, after: IdentityRequest[] = []): Script {
  return {
    identityStart: request('choosing_role'),
    identityAct: [request('choosing_holder_kind'), request('entering_data', { holder_kind: 'private_citizen' }), at('summary'), at('choosing_method'), ...after],
    fieldValidate: fields,
    draftSave: undefined,
    draftClear: undefined,
    ...more,
  };
}

function renderWizard(backend: ReturnType<typeof stubBackend>, lang: 'it' | 'en' = 'it', resume: Record<string, string> | null = null) {
  const props = { mailbox: mailbox(MARIO), resume, onclose: vi.fn(), onchanged: vi.fn() };
  renderWithApp(Wizard, props, backend, lang);
  return props;
}

async function step(name: string) {
  await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', name), { timeout: 5000 });
}

async function toMethods(user: User) {
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

const cardScript = (over: Script = {}, after: IdentityRequest[] = []) =>
  toMethodsScript(
    {
      cardWatch: (onUpdate) => onUpdate({ readers: [READER], error: null }),
      cardUnwatch: undefined,
      cardPreflight: CHECK,
      ...over,
    },
    after,
  );

describe('Wizard', { timeout: 30_000 }, () => {
  test("a new page's heading has the focus as soon as the page shows, whatever the draft's save takes", async () => {
    const user = userEvent.setup();
    // A slow save (a busy disk): the focus must not wait for it.
    const backend = stubBackend(toMethodsScript({ draftSave: () => new Promise<void>((done) => setTimeout(done, 1000)) }));
    renderWizard(backend);
    await step('choosing_role');
    expect(screen.getByRole('heading', { level: 1 })).toHaveFocus();
    await user.click(screen.getByTestId('role-holder'));
    // The page is busy until the save answers.
    await waitFor(() => expect(screen.getByTestId('role-confirm')).toBeEnabled(), { timeout: 3000 });
    await user.click(screen.getByTestId('role-confirm'));
    await step('choosing_holder_kind');
    expect(screen.getByRole('heading', { level: 1 })).toHaveFocus();
  });

  test('walks the card path to completion, with the star and the success message', async () => {
    const user = userEvent.setup();
    // One time base: two Date.now() calls a millisecond apart made the deadline 60.001 s (61).
    const t0 = Date.now();
    const now = new Date(t0).toISOString();
    const otp = { updated_at: now, otp_expires_at: new Date(t0 + 60_000).toISOString(), otp_attempts_left: 3 };
    const backend = stubBackend(
      cardScript(
        { cardIdentify: at('identified', { method: 'cns' }) },
        [at('identifying', { method: 'cns' }), at('accepting_terms'), at('otp_sent', otp), at('completed', { state: 'completed' })],
      ),
    );
    const props = renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await step('identifying');
    expect(await screen.findByTestId('card-owner')).toHaveTextContent('Mario Rossi');
    expect(screen.getByTestId('card-matches')).toBeInTheDocument();
    // The certificate's end, in words (no ISO date on a screen).
    expect(screen.getByTestId('preflight')).toHaveTextContent('22 novembre 2029');
    await user.type(screen.getByTestId('pin'), '12345678');
    await user.click(screen.getByTestId('card-sign'));
    await step('identified');
    expect(backend.mock('cardIdentify')).toHaveBeenCalledWith('req-1', READER.name, '12345678', false);
    // Step 7 and step 10 say different things: identified, then completed.
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(messages.it.identifiedHeading);
    expect(screen.getByTestId('stepper-current')).toHaveAttribute('aria-current', 'step');
    expect(screen.getByTestId('stepper-current')).toHaveTextContent('Passo 7 di 10: Identificato');
    await user.click(screen.getByTestId('proceed'));
    await step('accepting_terms');
    // The provider's texts come before the checkboxes, in the holder's language.
    const text = screen.getByTestId('terms-text');
    expect(text).toHaveTextContent('Il titolare custodisce le credenziali.');
    expect(text).toHaveTextContent('Informativa contrattuale');
    expect(text.compareDocumentPosition(screen.getByTestId('terms-service')) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const complete = screen.getByTestId('complete-request');
    expect(complete).toBeDisabled();
    await user.click(screen.getByTestId('terms-service'));
    await user.click(screen.getByTestId('terms-contract'));
    await user.click(complete);
    await step('otp_sent');
    expect(screen.getByTestId('otp-timer')).toHaveTextContent(/Il codice scade tra (60|59) secondi/);
    expect(screen.getByTestId('otp-timer')).toHaveTextContent('3 tentativi rimasti');
    await user.type(screen.getByTestId('otp'), '123456');
    await user.click(screen.getByTestId('otp-confirm'));
    await step('completed');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent(messages.it.completedHeading);
    expect(messages.it.completedHeading).not.toBe(messages.it.identifiedHeading);
    expect(backend.mock('identityAct')).toHaveBeenLastCalledWith('req-1', { type: 'confirm_otp', code: '123456' });
    expect(screen.getByRole('img', { name: messages.it.starLabel })).toBeInTheDocument();
    expect(props.onchanged).toHaveBeenCalled();
    expect(backend.calls).toContain('draftClear');
  });

  test('a wrong PIN shows the tries left and is never sent again by itself', async () => {
    const user = userEvent.setup();
    const wrong = failure('card.pin_wrong', 'PIN errato. Restano 2 tentativi prima del blocco.');
    const backend = stubBackend(
      cardScript(
        { cardIdentify: wrong, cardPreflight: [CHECK, { ...CHECK, pin: { tries_left: 2, blocked: false } }] },
        [at('identifying', { method: 'cns' })],
      ),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await user.type(await screen.findByTestId('pin'), '11111111');
    await user.click(screen.getByTestId('card-sign'));
    expect(await screen.findByTestId('card-error')).toHaveTextContent('Restano 2 tentativi');
    expect(await screen.findByTestId('card-pin')).toHaveTextContent('2 rimasti');
    // The message took the focus and stayed on screen through the card's new reading, the
    // verdict never blanked (nothing moved under the holder's eyes).
    await waitFor(() => expect(screen.getByTestId('card-error')).toHaveFocus());
    expect(screen.getByTestId('card-error')).toHaveTextContent('Restano 2 tentativi');
    expect(screen.queryByTestId('checking')).toBeNull();
    expect(backend.mock('cardIdentify')).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('pin')).toHaveValue('');
    expect(screen.getByTestId('card-sign')).toBeDisabled();
  });

  test('on the last try the holder confirms before the PIN goes; cancelling sends nothing', async () => {
    const user = userEvent.setup();
    const lastTry = { ...CHECK, pin: { tries_left: 1, blocked: false } };
    const backend = stubBackend(
      cardScript({ cardIdentify: at('identified', { method: 'cns' }), cardPreflight: lastTry }, [at('identifying', { method: 'cns' })]),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await user.type(await screen.findByTestId('pin'), '12345678');
    await user.click(screen.getByTestId('card-sign'));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent("È l'ultimo tentativo: se il PIN è sbagliato la carta si blocca. Continuare?");
    await waitFor(() => expect(screen.getByTestId('last-try-cancel')).toHaveFocus());
    expect(backend.calls).not.toContain('cardIdentify');
    await user.click(screen.getByTestId('last-try-cancel'));
    expect(screen.queryByTestId('last-try')).toBeNull();
    expect(backend.calls).not.toContain('cardIdentify');

    await user.type(screen.getByTestId('pin'), '12345678');
    await user.click(screen.getByTestId('card-sign'));
    await user.click(await screen.findByTestId('last-try-continue'));
    await step('identified');
    expect(backend.mock('cardIdentify')).toHaveBeenCalledTimes(1);
    expect(backend.mock('cardIdentify')).toHaveBeenCalledWith('req-1', READER.name, '12345678', true);
  });

  test('a last try Rust learnt of after the pre-flight is asked too, then sent confirmed', async () => {
    const user = userEvent.setup();
    const held = failure('card.pin_last_try', 'Ultimo tentativo: se il PIN è errato la carta si blocca.');
    const backend = stubBackend(
      cardScript({ cardIdentify: [held, at('identified', { method: 'cns' })] }, [at('identifying', { method: 'cns' })]),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    await user.type(await screen.findByTestId('pin'), '12345678');
    await user.click(screen.getByTestId('card-sign'));
    await user.click(await screen.findByTestId('last-try-continue'));
    await step('identified');
    expect(backend.mock('cardIdentify').mock.calls.map((c) => c[3])).toEqual([false, true]);
    expect(screen.queryByTestId('card-error')).toBeNull();
  });

  test('the pre-flight stops a card of someone else before the provider', async () => {
    const user = userEvent.setup();
    const problem = { code: 'card.tax_code_mismatch', message_it: 'Questa carta è di BNCGLI85C55F205C', message_en: 'This card belongs to BNCGLI85C55F205C' };
    const backend = stubBackend(
      cardScript(
        { cardPreflight: { ...CHECK, tax_code: 'BNCGLI85C55F205C', tax_code_matches: false, problems: [problem] } },
        [at('identifying', { method: 'cns' })],
      ),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cns'));
    expect(await screen.findByTestId('preflight-problems')).toHaveTextContent('Questa carta è di BNCGLI85C55F205C');
    expect(backend.mock('cardPreflight')).toHaveBeenCalledWith(READER.name, 'RSSMRA45C12F205C');
    expect(screen.queryByTestId('pin')).toBeNull();
    expect(backend.calls).not.toContain('cardIdentify');
  });

  test('invalid data is explained field by field and nothing is sent', async () => {
    const user = userEvent.setup();
    const backend = stubBackend(toMethodsScript());
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
    expect(backend.mock('identityAct')).toHaveBeenCalledTimes(2);
  });

  test('delegation sends the link to the holder', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({
      identityStart: request('choosing_role'),
      identityAct: [request('awaiting_holder_email'), request('delegation_link_sent', { holder_email: 'titolare@example.com' })],
      fieldValidate: fields,
    });
    renderWizard(backend);
    await step('choosing_role');
    await user.click(screen.getByTestId('role-other'));
    await user.click(screen.getByTestId('role-confirm'));
    await step('awaiting_holder_email');
    await user.type(screen.getByLabelText('E-mail del titolare'), 'titolare@example.com');
    await user.click(screen.getByTestId('send-link'));
    await step('delegation_link_sent');
    expect(backend.mock('identityAct')).toHaveBeenLastCalledWith('req-1', { type: 'submit_holder_email', holder_email: 'titolare@example.com' });
    expect(screen.getByTestId('link-sent')).toHaveTextContent('titolare@example.com');
  });

  test('CIE is a method like the others: chosen, then the two ways to use the card', async () => {
    const user = userEvent.setup();
    const backend = stubBackend(toMethodsScript({}, [at('identifying', { method: 'cie' })]));
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-cie'));
    await step('identifying');
    expect(backend.mock('identityAct')).toHaveBeenLastCalledWith('req-1', { type: 'choose_method', method: 'cie' });
    expect(screen.getByTestId('cie-way-reader')).toBeInTheDocument();
    expect(screen.getByTestId('cie-way-phone')).toBeInTheDocument();
    expect(screen.queryByText('In arrivo')).not.toBeInTheDocument();
  });

  test('SPID shows the QR code and follows the login to the end', async () => {
    const user = userEvent.setup();
    const spid = { handle: 'h1', login_url: 'http://127.0.0.1:9/spid/login/h1', expires_at: '2026-11-22T10:10:00Z', qr_svg: '<svg></svg>' };
    const backend = stubBackend(
      toMethodsScript(
        { identitySpidStart: spid, identitySpidOpen: undefined, identitySpidPoll: [{ status: 'pending', request: null }, { status: 'authorised', request: at('identified') }] },
        [at('identifying', { method: 'spid' })],
      ),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-spid'));
    await user.click(await screen.findByTestId('spid-start'));
    expect(await screen.findByTestId('spid-pending')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: 'Codice QR' })).toBeInTheDocument();
    expect(backend.mock('identitySpidOpen')).toHaveBeenCalledWith('req-1');
    await step('identified');
  });

  test("webcam: a slot is booked and the operator's decision moves the wizard on by itself", async () => {
    const user = userEvent.setup();
    const slot = { starts_at: '2026-11-23T09:00:00Z', minutes: 30 };
    const backend = stubBackend(
      toMethodsScript(
        {
          identityWebcamSlots: [slot],
          identityWebcamBook: { id: 'b1', request_id: 'req-1', starts_at: slot.starts_at, status: 'booked' },
          identityGet: [at('identifying', { method: 'webcam' }), at('identified', { method: 'webcam' })],
        },
        [at('identifying', { method: 'webcam' })],
      ),
    );
    renderWizard(backend);
    await toMethods(user);
    await user.click(screen.getByTestId('method-webcam'));
    expect(await screen.findByTestId('webcam-slot')).toHaveTextContent('30 min');
    await user.click(screen.getByTestId('webcam-book'));
    const booked = await screen.findByTestId('webcam-booked');
    expect(booked).toHaveAttribute('data-booking', 'b1');
    expect(booked).toHaveTextContent('Videochiamata prenotata');
    // The operator decides in the provider's back office; nothing to click here.
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'), { timeout: 10_000 });
  });

  test('a draft is saved as the user types, without secrets', async () => {
    const user = userEvent.setup();
    const backend = stubBackend(toMethodsScript());
    renderWizard(backend);
    await step('choosing_role');
    await user.click(screen.getByTestId('role-holder'));
    await user.click(screen.getByTestId('role-confirm'));
    await user.click(await screen.findByTestId('kind-private'));
    await user.click(screen.getByTestId('kind-confirm'));
    await step('entering_data');
    await user.type(screen.getByLabelText('Nome *'), 'Mario');
    const saved = () => backend.mock('draftSave').mock.calls.at(-1)?.[0];
    await waitFor(() => expect(saved()?.fields.first_name).toBe('Mario'));
    expect(saved()?.mailbox).toBe(MARIO);
    expect(saved()?.fields.kind).toBe('private_citizen');
    expect(Object.keys(saved()!.fields)).not.toContain('pin');
  });

  test('when no more codes can be sent, "Ricomincia la procedura" starts the request over', async () => {
    const user = userEvent.setup();
    const t0 = Date.now();
    const past = new Date(t0 - 1000).toISOString();
    const otp = at('otp_sent', { updated_at: new Date(t0).toISOString(), otp_expires_at: past, resend_available_at: past, otp_attempts_left: 3 });
    const limit = failure('otp.resend_limit', 'Hai chiesto troppi codici: ricomincia la procedura ("Ricomincia").');
    const backend = stubBackend({ identityStart: otp, identityAct: [limit, request('choosing_role')], draftSave: undefined, fieldValidate: fields });
    renderWizard(backend);
    await step('otp_sent');
    expect(screen.queryByTestId('start-over')).toBeNull();
    await user.click(screen.getByTestId('resend'));
    const again = await screen.findByTestId('start-over');
    expect(again).toHaveTextContent('Ricomincia la procedura');
    expect(screen.getByTestId('start-over-box')).toHaveTextContent('Non si possono chiedere altri codici');
    expect(screen.getByTestId('resend')).toBeDisabled();
    await user.click(again);
    await step('choosing_role');
    expect(backend.mock('identityAct')).toHaveBeenLastCalledWith('req-1', { type: 'start_over' });
  });

  test('the shell reopens a wizard left open, with the typed fields', async () => {
    const backend = stubBackend({
      mailboxList: [mailbox(MARIO), mailbox('altra@pec.sandbox.test')],
      notificationList: [],
      mailboxExpiries: [],
      draftLoad: { mailbox: MARIO, request_id: null, fields: { first_name: 'Maria', kind: 'private_citizen' }, saved_at: null },
      identityStart: request('entering_data', { id: 'req-9', holder_kind: 'private_citizen' }),
      draftSave: undefined,
    });
    renderWithApp(Shell, { account: 'acc-demo-mario', onsignout: vi.fn() }, backend);
    await step('entering_data');
    expect(screen.getByTestId('resumed')).toBeInTheDocument();
    expect(screen.getByLabelText('Nome *')).toHaveValue('Maria');
  });

  test('documents are uploaded and sent for review', async () => {
    const user = userEvent.setup();
    const missing = request('documents_missing', { state: 'documents_missing', practice_number: 'PR-2026-000001' });
    const doc = { id: 'doc-1', filename: 'visura.pdf', media_type: 'application/pdf', size: 2048, uploaded_at: '2026-11-22T10:00:00Z' };
    const backend = stubBackend({
      identityStart: missing,
      identityUpload: { ...missing, documents: [doc] },
      identityAct: request('checks_in_progress', { state: 'checks_in_progress' }),
      draftSave: undefined,
    });
    renderWizard(backend);
    await step('documents_missing');
    expect(screen.getByTestId('practice')).toHaveTextContent('PR-2026-000001');
    expect(screen.getByTestId('docs-submit')).toBeDisabled();
    const file = new File(['%PDF-1.7 test'], 'visura.pdf', { type: 'application/pdf' });
    const picker = screen.getByLabelText(messages.it.docsPick) as HTMLInputElement;
    await waitFor(() => expect(picker).toBeEnabled());
    await user.upload(picker, file);
    const list = await screen.findByTestId('documents');
    expect(within(list).getByText(/visura\.pdf/)).toBeInTheDocument();
    expect(list).toHaveTextContent('2 kB');
    const [id, name, bytes] = backend.mock('identityUpload').mock.calls[0]!;
    expect([id, name, bytes.length]).toEqual(['req-1', 'visura.pdf', 13]);
    await user.click(screen.getByTestId('docs-submit'));
    await step('checks_in_progress');
  });
});
