import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Renewal from './renewal/Renewal.svelte';
import Shell from './Shell.svelte';
import type { FieldCheck, RenewableMailbox, RenewalOrder } from './backend';
import { expiry, mailbox } from './fixtures';
import { messages } from './i18n';
import { failure, renderWithApp, stubBackend, type Script, type Stub } from './stub-backend';

type User = ReturnType<typeof userEvent.setup>;

const CF = '00743110157';
const PADDED = '00000' + CF;
const BOX = 'amministrazione@pec.acme-srl.test';
const PRICE = { net_cents: 900, vat_rate_percent: 22, vat_cents: 198, total_cents: 1098, currency: 'EUR', label_it: 'Rinnovo 12 mesi' };
const renewable = (address: string, status: 'active' | 'ceased' = 'active'): RenewableMailbox => ({
  address,
  business_name: 'ACME S.r.l.',
  expiry: { ...expiry(40), status },
  price: PRICE,
});
const ORDER: RenewalOrder = {
  id: 'ord-1',
  mailbox: BOX,
  tax_code: PADDED,
  legal_representative: { first_name: 'Chiara', last_name: 'Conti', tax_code: 'CNTCHR83T41D969D' },
  payment_method: { kind: 'card' },
  price: PRICE,
  state: 'awaiting_payment',
  paid_at: null,
  new_expires_on: null,
};
const PAID: RenewalOrder = { ...ORDER, state: 'paid', paid_at: '2026-11-22T10:00:00Z', new_expires_on: '2027-11-22' };
const valid = (kind: string, value: string): FieldCheck => ({ valid: true, normalized: kind === 'name' ? value : value.toUpperCase(), error: null });

function registered(over: Script = {}): Stub {
  return stubBackend({
    renewalLookup: { tax_code: PADDED, registered: true, business_name: 'ACME S.r.l.', activation_email_masked: null },
    renewalSignIn: undefined,
    renewalMailboxes: [renewable(BOX)],
    renewalCreateOrder: ORDER,
    renewalPay: PAID,
    renewalClose: undefined,
    fieldValidate: valid,
    ...over,
  });
}

function renderRenewal(backend: Stub, lang: 'it' | 'en' = 'it') {
  const props = { mailbox: null, onclose: vi.fn(), onchanged: vi.fn() };
  renderWithApp(Renewal, props, backend, lang);
  return props;
}

async function step(name: string) {
  await waitFor(() => expect(screen.getByTestId('renewal')).toHaveAttribute('data-step', name), { timeout: 5000 });
}

async function fill(user: User, testid: string, text: string) {
  const field = screen.getByTestId(testid);
  await user.clear(field);
  await user.type(field, text);
}

/** Entry with the registered company, sign-in, mailbox, legal representative, card. */
async function registeredToPayment(user: User) {
  await step('entry');
  await fill(user, 'rn-tax-code', CF);
  await user.click(screen.getByTestId('rn-lookup'));
  await step('sign_in');
  await fill(user, 'rn-password', 'Demo-Password-1');
  await user.click(screen.getByTestId('rn-sign-in'));
  await step('mailboxes');
  await toPaymentFromMailboxes(user);
}

async function toPaymentFromMailboxes(user: User) {
  await user.click(screen.getByTestId('rn-mailbox-confirm'));
  await step('representative');
  await fill(user, 'rn-rep-first', 'Chiara');
  await fill(user, 'rn-rep-last', 'Conti');
  await fill(user, 'rn-rep-cf', 'cntchr83t41d969d');
  await user.click(screen.getByTestId('rn-rep-continue'));
  await step('payment_method');
  await user.click(screen.getByTestId('rn-method-card'));
  await user.click(screen.getByTestId('rn-method-continue'));
  await step('payment');
}

const YEAR = String(new Date().getFullYear() + 5);

async function card(user: User, number: string) {
  await fill(user, 'rn-card-number', number);
  await user.selectOptions(screen.getByTestId('rn-card-month'), '12');
  await user.selectOptions(screen.getByTestId('rn-card-year'), YEAR);
  await fill(user, 'rn-card-cvc', '123');
  await fill(user, 'rn-card-holder', 'Chiara Conti');
}

const cardSent = (number: string) => ({ number, expiry_month: 12, expiry_year: Number(YEAR), cvc: '123', holder_name: 'Chiara Conti' });

describe('Renewal', { timeout: 30_000 }, () => {
  test('a registered company signs in and pays by card: the new expiry and the e-mails are shown', async () => {
    const user = userEvent.setup();
    const backend = registered();
    const props = renderRenewal(backend);
    await registeredToPayment(user);
    expect(backend.mock('renewalSignIn')).toHaveBeenCalledWith(PADDED, 'Demo-Password-1');
    expect(backend.mock('renewalCreateOrder')).toHaveBeenCalledWith(
      BOX,
      { first_name: 'Chiara', last_name: 'Conti', tax_code: 'CNTCHR83T41D969D' },
      { kind: 'card' },
    );
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Pagamento');
    await card(user, '4242 4242 4242 4242');
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(backend.mock('renewalPay')).toHaveBeenCalledWith('ord-1', cardSent('4242 4242 4242 4242'), null);
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', '2027-11-22');
    expect(screen.getByTestId('rn-new-expiry')).toHaveTextContent('22 novembre 2027');
    expect(screen.getByTestId('rn-done')).toHaveTextContent(BOX);
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('indirizzo indicato nella registrazione');
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('messaggio PEC');
    // Focus follows the new page; one payment; the shell is told to reload the mailboxes.
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'Rinnovo completato' }));
    expect(backend.mock('renewalPay')).toHaveBeenCalledTimes(1);
    expect(props.onchanged).toHaveBeenCalled();
  });

  test('the codice fiscale is shown as the portal wants it: 16 characters, zeros on the left, uppercase', async () => {
    const user = userEvent.setup();
    const wrongLength = failure('tax_code.length', 'Il codice fiscale deve avere 11 o 16 caratteri: questo ne ha 3.');
    const backend = registered({ renewalLookup: [{ tax_code: PADDED, registered: true, business_name: 'ACME S.r.l.', activation_email_masked: null }, wrongLength] });
    renderRenewal(backend);
    await step('entry');
    await fill(user, 'rn-tax-code', ` ${CF} `);
    await user.click(screen.getByTestId('rn-lookup'));
    await step('sign_in');
    expect(screen.getByTestId('normalised-cf')).toHaveTextContent(PADDED);
    expect(screen.getByTestId('rn-company')).toHaveTextContent('ACME S.r.l.');
    // A code of the wrong length: the provider's message, in an alert.
    await user.click(screen.getByTestId('rn-change-code'));
    await step('entry');
    expect(screen.getByTestId('rn-tax-code')).toHaveValue(PADDED);
    await fill(user, 'rn-tax-code', '123');
    await user.click(screen.getByTestId('rn-lookup'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('questo ne ha 3');
    expect(alert).toHaveAttribute('data-code', 'tax_code.length');
  });

  test('a new company registers with the captcha and the e-mail code, closes the SMS pop-up, and renews', async () => {
    const user = userEvent.setup();
    const png = 'iVBORw0KGgo=';
    const registration = { id: 'reg-1', tax_code: '0000007973780013', email: 'servizi@example.com', mobile: '+393337654321', step: 'awaiting_email_code' as const, mobile_verified: false, code_sent_to: ['f***@pec.acme-srl.test', 'c***@example.com'] };
    const backend = registered({
      renewalLookup: { tax_code: '0000007973780013', registered: false, business_name: null, activation_email_masked: 'c***@example.com' },
      renewalCaptcha: [
        { id: 'cap-1', expires_at: '2026-11-22T10:10:00Z', png_base64: png, question_it: 'Scrivi in cifre il numero trecentoquarantuno.', question_en: 'Write the number three hundred forty-one in digits.' },
        { id: 'cap-2', expires_at: '2026-11-22T10:10:00Z', png_base64: png },
        { id: 'cap-3', expires_at: '2026-11-22T10:10:00Z', png_base64: png },
      ],
      renewalRegister: [failure('captcha.wrong', 'Il codice captcha non è corretto.'), registration],
      renewalVerifyEmail: [failure('verification.wrong', 'Codice di verifica errato.'), { ...registration, step: 'awaiting_sms_code' }],
      renewalSkipSms: { ...registration, step: 'completed' },
      renewalMailboxes: [renewable('vecchia@pec.acme-srl.test', 'ceased'), renewable('fatture@pec.acme-srl.test')],
      renewalCreateOrder: { ...ORDER, mailbox: 'fatture@pec.acme-srl.test' },
      renewalPay: { ...PAID, mailbox: 'fatture@pec.acme-srl.test' },
    });
    renderRenewal(backend);
    await step('entry');
    await fill(user, 'rn-tax-code', '7973780013');
    await user.click(screen.getByTestId('rn-lookup'));
    await step('register');
    expect(screen.getByTestId('normalised-cf')).toHaveTextContent('0000007973780013');
    expect(screen.getByTestId('rn-activation-email')).toHaveTextContent('c***@example.com');
    const img = await screen.findByTestId('rn-captcha-img');
    expect(img).toHaveAttribute('src', expect.stringMatching(/^data:image\/png;base64,iVBOR/));
    expect(img).toHaveAccessibleName(messages.it.rnCaptchaAlt);
    // The text alternative, for those who cannot see the image, is read as text.
    expect(screen.getByTestId('rn-captcha-question')).toHaveTextContent('Scrivi in cifre il numero trecentoquarantuno.');
    expect(screen.getByLabelText(messages.it.captchaAnswerLabel)).toBeInTheDocument();
    // "Nuova immagine" gives another captcha.
    await user.click(screen.getByTestId('rn-captcha-new'));
    await waitFor(() => expect(screen.getByTestId('rn-captcha-img')).toHaveAttribute('data-captcha-id', 'cap-2'));

    await fill(user, 'rn-email', 'servizi@example.com');
    await fill(user, 'rn-mobile', '3337654321');
    await fill(user, 'rn-new-password', 'Portale-Password-1');
    // A wrong answer uses the captcha up: the provider's message and a new image.
    await fill(user, 'rn-captcha-answer', '00000');
    await user.click(screen.getByTestId('rn-register'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('Il codice captcha non è corretto');
    await waitFor(() => expect(screen.getByTestId('rn-captcha-img')).toHaveAttribute('data-captcha-id', 'cap-3'));
    expect(screen.getByTestId('rn-captcha-answer')).toHaveValue('');
    await fill(user, 'rn-captcha-answer', 'K7M2P');
    await user.click(screen.getByTestId('rn-register'));

    await step('email_code');
    // The code goes to the company's contacts on record, never to the address typed (H3).
    expect(screen.getByTestId('rn-code-sent-to')).toHaveTextContent('ai recapiti dell’azienda: f***@pec.acme-srl.test, c***@example.com');
    expect(screen.getByTestId('rn-code-sent-to')).not.toHaveTextContent('servizi@example.com');
    expect(backend.mock('renewalRegister')).toHaveBeenLastCalledWith({
      taxCode: '0000007973780013',
      email: 'SERVIZI@EXAMPLE.COM',
      mobile: '3337654321',
      password: 'Portale-Password-1',
      captchaId: 'cap-3',
      captchaAnswer: 'K7M2P',
    });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Verifica l’indirizzo e-mail');
    await fill(user, 'rn-email-code', '999999');
    await user.click(screen.getByTestId('rn-verify-email'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('Codice di verifica errato');
    await fill(user, 'rn-email-code', '123456');
    await user.click(screen.getByTestId('rn-verify-email'));

    await step('sms_code');
    const popup = screen.getByRole('dialog');
    expect(popup).toHaveTextContent('la registrazione andrà comunque a buon fine');
    await user.click(within(popup).getByRole('button', { name: messages.it.rnSmsSkip }));

    await step('mailboxes');
    expect(screen.getByTestId('renewal-notice')).toHaveTextContent('Registrazione completata');
    expect(backend.calls).toContain('renewalSkipSms');
    expect(backend.calls).not.toContain('renewalVerifySms');
    // A ceased mailbox cannot be chosen; the first renewable one is.
    expect(screen.getByTestId('rn-box-vecchia@pec.acme-srl.test')).toBeDisabled();
    expect(screen.getByTestId('rn-box-fatture@pec.acme-srl.test')).toBeChecked();
    await toPaymentFromMailboxes(user);
    await card(user, '4242424242424242');
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', '2027-11-22');
  });

  test('a declined card is explained, nothing is charged, and another card pays', async () => {
    const user = userEvent.setup();
    const declined = failure('payment.declined', 'Pagamento rifiutato dal circuito: nessun addebito.');
    const backend = registered({ renewalPay: [declined, PAID] });
    renderRenewal(backend);
    await registeredToPayment(user);
    await card(user, '4000000000000002');
    await user.click(screen.getByTestId('rn-pay'));
    const alert = await screen.findByTestId('renewal-error');
    expect(alert).toHaveAttribute('role', 'alert');
    expect(alert).toHaveTextContent('Pagamento rifiutato dal circuito: nessun addebito');
    expect(alert).toHaveTextContent('usa un’altra carta');
    expect(screen.getByTestId('rn-card-number')).toHaveValue('');
    expect(screen.getByTestId('rn-card-cvc')).toHaveValue('');
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('rn-card-number')));

    await fill(user, 'rn-card-number', '4242424242424242');
    await fill(user, 'rn-card-cvc', '123');
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(backend.mock('renewalPay').mock.calls.map((c) => c[1].number)).toEqual(['4000000000000002', '4242424242424242']);
  });

  test('after a timeout the retry sends the same payment again (Rust reuses its key)', async () => {
    const user = userEvent.setup();
    const timeout = failure('payment.gateway_timeout', 'Il circuito non ha risposto in tempo.');
    const backend = registered({ renewalPay: [timeout, PAID] });
    renderRenewal(backend);
    await registeredToPayment(user);
    await card(user, '4000000000000119');
    await user.click(screen.getByTestId('rn-pay'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('non ha risposto in tempo');
    expect(screen.getByTestId('rn-retry-note')).toHaveTextContent('non ti sarà addebitato due volte');
    // The data stays as it was, so the retry is the same payment.
    expect(screen.getByTestId('rn-card-number')).toHaveValue('4000000000000119');
    expect(screen.getByTestId('renewal')).toHaveAttribute('data-step', 'payment');
    await user.click(screen.getByTestId('rn-retry-pay'));
    await step('confirmation');
    const [first, retry] = backend.mock('renewalPay').mock.calls;
    expect(retry).toEqual(first);
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', '2027-11-22');
  });

  test('English labels, and the progress of the steps', async () => {
    const user = userEvent.setup();
    const phone = { ...ORDER, payment_method: { kind: 'phone_line' as const, line_number: '02 1234 5678' } };
    const backend = registered({ renewalCreateOrder: phone, renewalPay: { ...PAID, payment_method: phone.payment_method } });
    renderRenewal(backend, 'en');
    await step('entry');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Company codice fiscale');
    await user.type(screen.getByLabelText('Company codice fiscale *'), CF);
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    await step('sign_in');
    expect(screen.getByText(/Step 2 of 7/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Portal password *'), 'Demo-Password-1');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await step('mailboxes');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Manage – Services');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));
    await step('representative');
    expect(screen.getByTestId('rn-price')).toHaveTextContent('+ VAT 22%');
    expect(screen.getByTestId('rn-price')).toHaveTextContent('€10.98');
    await user.type(screen.getByLabelText('First name *'), 'Chiara');
    await user.type(screen.getByLabelText('Last name *'), 'Conti');
    await user.type(screen.getByLabelText('Representative’s codice fiscale *'), 'CNTCHR83T41D969D');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    await step('payment_method');
    expect(screen.getByLabelText(/Charge on the phone bill/)).toBeInTheDocument();
    expect(screen.getByLabelText(/Credit or debit card/)).toBeInTheDocument();
    expect(screen.getByLabelText(/PayPal or PostePay/)).toBeInTheDocument();
    await user.click(screen.getByLabelText(/Charge on the phone bill/));
    await user.type(screen.getByLabelText('Landline number *'), '02 1234 5678');
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    await step('payment');
    expect(backend.mock('renewalCreateOrder').mock.calls[0]![2]).toEqual({ kind: 'phone_line', line_number: '02 1234 5678' });
    expect(screen.getByTestId('rn-phone-charge')).toHaveTextContent('02 1234 5678');
    await user.click(screen.getByRole('button', { name: /^Pay / }));
    await step('confirmation');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Renewal completed');
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('a PEC message in the renewed mailbox');
  });

  test('required fields are labelled and reported without calling the portal', async () => {
    const user = userEvent.setup();
    const backend = registered();
    renderRenewal(backend);
    await step('entry');
    await user.click(screen.getByTestId('rn-lookup'));
    expect(await screen.findByTestId('rn-tax-code-error')).toHaveTextContent('Campo obbligatorio.');
    expect(screen.getByLabelText('Codice fiscale dell’azienda *')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.calls).not.toContain('renewalLookup');
  });

  test('the shell opens the renewal from a mailbox page and closes it, dropping the portal session', async () => {
    const user = userEvent.setup();
    const acme = mailbox(BOX, {
      holder: {
        kind: 'company',
        business_name: 'ACME S.r.l.',
        tax_code: CF,
        legal_representative: { first_name: 'Chiara', last_name: 'Conti', tax_code: 'CNTCHR83T41D969D' },
      },
    });
    const backend = registered({ mailboxList: [acme], notificationList: [], mailboxExpiries: [], draftLoad: null });
    renderWithApp(Shell, { account: 'acc-demo-acme', onsignout: vi.fn() }, backend);
    await user.click(await screen.findByTestId('renew'));
    await step('entry');
    // Prefilled from the mailbox's holder.
    expect(screen.getByTestId('rn-tax-code')).toHaveValue(CF);
    await user.click(screen.getByTestId('rn-close'));
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent(BOX);
    await waitFor(() => expect(backend.calls).toContain('renewalClose'));
  });
});
