import { screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Wizard from './wizard/Wizard.svelte';
import type { CieCheck, IdentityRequest, ReaderView } from './backend';
import { MARIO, mailbox, request } from './fixtures';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

const DRAFT = {
  holder: { kind: 'private_citizen' as const, first_name: 'Mario', last_name: 'Rossi', tax_code: 'RSSMRA80A01H501U' },
  contact: { email: 'mario@example.com', mobile: null },
};
const at = (step: IdentityRequest['step'], over: Partial<IdentityRequest> = {}) => request(step, { draft: DRAFT, method: 'cie', ...over });

const NFC: ReaderView = { name: 'ACS ACR1252 1S CL Reader PICC 00 00', card: 'cie', card_label: 'CIE 3.0', atr: '3B 8E 80 01', busy: false, link: 'contactless' };
const CONTACT: ReaderView = { name: 'Bit4id miniLector EVO 00 00', card: 'none', card_label: null, atr: null, busy: false, link: 'contact' };
const CHECK: CieCheck = {
  reader: NFC.name,
  link: 'contactless',
  is_cie: true,
  card_label: 'CIE 3.0 (NXP)',
  nis: '123456789012',
  pin: { tries_left: null, blocked: false },
  problems: [],
};

function cieScript(more: Script = {}): Script {
  return {
    identityStart: at('identifying'),
    draftSave: undefined,
    draftClear: undefined,
    cardWatch: (onUpdate) => onUpdate({ readers: [CONTACT, NFC], error: null }),
    cardUnwatch: undefined,
    ciePreflight: CHECK,
    ...more,
  };
}

function renderWizard(backend: ReturnType<typeof stubBackend>) {
  renderWithApp(Wizard, { mailbox: mailbox(MARIO), resume: null, onclose: vi.fn(), onchanged: vi.fn() }, backend, 'it');
}

async function withReader(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByTestId('cie-way-reader'));
  expect(await screen.findByTestId('cie-card')).toHaveTextContent('CIE 3.0 (NXP)');
}

describe('CIE', { timeout: 30_000 }, () => {
  test('the reader panel tells contact from contactless readers and what to do with the card', async () => {
    const user = userEvent.setup();
    const backend = stubBackend(cieScript());
    renderWizard(backend);
    await withReader(user);
    const links = screen.getAllByTestId('reader-link').map((e) => e.getAttribute('data-link'));
    expect(links).toEqual(['contact', 'contactless']);
    const status = screen.getAllByTestId('reader-status').map((e) => e.textContent);
    expect(status[0]).toContain('usa un lettore NFC');
    expect(status[1]).toContain('Appoggia la CIE sul lettore e non muoverla');
    expect(screen.getByTestId('cie-nis')).toHaveTextContent('123456789012');
    expect(screen.getByTestId('cie-picture')).toHaveAttribute('role', 'img');
    // The pre-flight asks the card on the NFC reader, before any PIN.
    expect(backend.mock('ciePreflight')).toHaveBeenCalledWith(NFC.name);
    expect(backend.calls).not.toContain('cieIdentify');
  });

  test('the PIN is 8 digits, its halves explained, sent once per click', async () => {
    const user = userEvent.setup();
    const backend = stubBackend(cieScript({ cieIdentify: at('identified') }));
    renderWizard(backend);
    await withReader(user);
    expect(screen.getByTestId('cie-pin-halves')).toHaveTextContent("le prime 4 sono sull'ultimo foglio della ricevuta");
    expect(screen.getByTestId('cie-pin-halves')).toHaveTextContent('le ultime 4 nella lettera');
    // Behind "Dove trovo il PIN?" on screen, still read with the field.
    expect(screen.getByTestId('cie-pin-where')).not.toHaveAttribute('open');
    expect(screen.getByTestId('cie-pin')).toHaveAccessibleDescription(/le prime 4 sono sull'ultimo foglio della ricevuta/);
    await user.type(screen.getByTestId('cie-pin'), '1234567');
    expect(screen.getByTestId('cie-sign')).toBeDisabled();
    await user.type(screen.getByTestId('cie-pin'), '8');
    await user.click(screen.getByTestId('cie-sign'));
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'));
    expect(backend.mock('cieIdentify')).toHaveBeenCalledTimes(1);
    expect(backend.mock('cieIdentify')).toHaveBeenCalledWith('req-1', NFC.name, '12345678', false);
  });

  test('a wrong PIN shows the tries left and is not sent again', async () => {
    const user = userEvent.setup();
    const wrong = failure('card.pin_wrong', 'PIN errato. Restano 2 tentativi prima del blocco.');
    const backend = stubBackend(cieScript({ cieIdentify: wrong, ciePreflight: [CHECK, { ...CHECK, pin: { tries_left: 2, blocked: false } }] }));
    renderWizard(backend);
    await withReader(user);
    const field = screen.getByTestId('cie-pin');
    await user.type(field, '11111111');
    await user.click(screen.getByTestId('cie-sign'));
    expect(await screen.findByTestId('card-error')).toHaveTextContent('Restano 2 tentativi');
    expect(await screen.findByTestId('card-pin')).toHaveTextContent('2 rimasti');
    // The message took the focus and the verdict and PIN field stayed through the card's new
    // reading: nothing moved under the holder's eyes.
    await waitFor(() => expect(screen.getByTestId('card-error')).toHaveFocus());
    expect(screen.queryByTestId('checking')).toBeNull();
    expect(screen.getByTestId('cie-pin')).toBe(field);
    expect(backend.mock('cieIdentify')).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('cie-pin')).toHaveValue('');
  });

  test('on the last try the holder confirms before the PIN goes; cancelling sends nothing', async () => {
    const user = userEvent.setup();
    const lastTry = { ...CHECK, pin: { tries_left: 1, blocked: false } };
    const backend = stubBackend(cieScript({ cieIdentify: at('identified'), ciePreflight: lastTry }));
    renderWizard(backend);
    await withReader(user);
    await user.type(screen.getByTestId('cie-pin'), '12345678');
    await user.click(screen.getByTestId('cie-sign'));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog).toHaveTextContent('la CIE si blocca');
    await waitFor(() => expect(screen.getByTestId('cie-last-try-cancel')).toHaveFocus());
    await user.click(screen.getByTestId('cie-last-try-cancel'));
    expect(screen.queryByTestId('cie-last-try')).toBeNull();
    expect(backend.calls).not.toContain('cieIdentify');

    await user.type(screen.getByTestId('cie-pin'), '12345678');
    await user.click(screen.getByTestId('cie-sign'));
    await user.click(await screen.findByTestId('cie-last-try-continue'));
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'));
    expect(backend.mock('cieIdentify')).toHaveBeenCalledTimes(1);
    expect(backend.mock('cieIdentify')).toHaveBeenCalledWith('req-1', NFC.name, '12345678', true);
  });

  test('Rust knowing of the last try first: the question, and the PIN sent once confirmed', async () => {
    const user = userEvent.setup();
    const held = failure('card.pin_last_try', "Ultimo tentativo: se il PIN è errato la carta si blocca.");
    const backend = stubBackend(cieScript({ cieIdentify: [held, at('identified')] }));
    renderWizard(backend);
    await withReader(user);
    await user.type(screen.getByTestId('cie-pin'), '12345678');
    await user.click(screen.getByTestId('cie-sign'));
    await user.click(await screen.findByTestId('cie-last-try-continue'));
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'));
    expect(backend.mock('cieIdentify')).toHaveBeenNthCalledWith(1, 'req-1', NFC.name, '12345678', false);
    expect(backend.mock('cieIdentify')).toHaveBeenNthCalledWith(2, 'req-1', NFC.name, '12345678', true);
  });

  test('a card lifted mid-session: the message, then a retry only on the click', async () => {
    const user = userEvent.setup();
    const lost = failure('card.cie_lost', 'Tieni la carta appoggiata al lettore: … potrebbe essere stato usato un tentativo.');
    const backend = stubBackend(cieScript({ cieIdentify: [lost, at('identified')] }));
    renderWizard(backend);
    await withReader(user);
    await user.type(screen.getByTestId('cie-pin'), '12345678');
    await user.click(screen.getByTestId('cie-sign'));
    const error = await screen.findByTestId('card-error');
    expect(error).toHaveAttribute('data-code', 'card.cie_lost');
    expect(error).toHaveTextContent('potrebbe essere stato usato un tentativo');
    expect(screen.getByTestId('cie-lifted-hint')).toBeInTheDocument();
    expect(screen.getByTestId('cie-sign')).toHaveTextContent('Riprova');
    // Nothing happens by itself.
    await new Promise((r) => setTimeout(r, 300));
    expect(backend.mock('cieIdentify')).toHaveBeenCalledTimes(1);
    await user.type(screen.getByTestId('cie-pin'), '12345678');
    await user.click(screen.getByTestId('cie-sign'));
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'));
    expect(backend.mock('cieIdentify')).toHaveBeenCalledTimes(2);
  });

  test('a card that is not a CIE, or a contact reader, stops before the PIN', async () => {
    const user = userEvent.setup();
    const problem = { code: 'cie.not_a_cie', message_it: 'La carta sul lettore non è una CIE', message_en: 'Not a CIE' };
    const backend = stubBackend(cieScript({ ciePreflight: { ...CHECK, is_cie: false, nis: null, card_label: 'CNS', problems: [problem] } }));
    renderWizard(backend);
    await user.click(await screen.findByTestId('cie-way-reader'));
    expect(await screen.findByTestId('preflight-problems')).toHaveTextContent('non è una CIE');
    expect(screen.queryByTestId('cie-pin')).not.toBeInTheDocument();
  });

  test('CieID: "Entra con CIE" opens the page, shows the QR code and follows the login', async () => {
    const user = userEvent.setup();
    const login = { handle: 'cieid-1', login_url: 'http://127.0.0.1:9/sandbox/cieid/login/cieid-1', expires_at: '2026-11-22T10:10:00Z', qr_svg: '<svg></svg>' };
    const backend = stubBackend(
      cieScript({
        cieCieidStart: login,
        cieCieidOpen: undefined,
        cieCieidPoll: [{ status: 'pending', request: null }, { status: 'authorised', request: at('identified') }],
      }),
    );
    renderWizard(backend);
    await user.click(await screen.findByTestId('cie-way-phone'));
    const button = screen.getByTestId('cieid-start');
    expect(button).toHaveTextContent('Entra con CIE');
    await user.click(button);
    expect(await screen.findByTestId('qr')).toBeInTheDocument();
    expect(screen.getByTestId('cieid-url')).toHaveTextContent(login.login_url);
    expect(backend.mock('cieCieidOpen')).toHaveBeenCalledWith('req-1');
    await waitFor(() => expect(screen.getByTestId('wizard')).toHaveAttribute('data-step', 'identified'), { timeout: 6000 });
    expect(backend.calls).not.toContain('ciePreflight');
  });

  test('CieID: a browser that cannot be opened is said, with the focus, beside the QR code', async () => {
    const user = userEvent.setup();
    const login = { handle: 'cieid-2', login_url: 'http://127.0.0.1:9/sandbox/cieid/login/cieid-2', expires_at: '2026-11-22T10:10:00Z', qr_svg: '<svg></svg>' };
    const backend = stubBackend(
      cieScript({
        cieCieidStart: login,
        cieCieidOpen: failure('app.browser', 'Non è stato possibile aprire il browser.'),
        cieCieidPoll: { status: 'pending', request: null },
      }),
    );
    renderWizard(backend);
    await user.click(await screen.findByTestId('cie-way-phone'));
    await user.click(screen.getByTestId('cieid-start'));
    const error = await screen.findByTestId('cieid-error');
    expect(error).toHaveTextContent('Non è stato possibile aprire il browser.');
    await waitFor(() => expect(error).toHaveFocus());
    expect(screen.getByTestId('qr')).toBeInTheDocument();
  });
});
