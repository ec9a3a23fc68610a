import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Renewal from './Renewal.svelte';
import Shell from './Shell.svelte';
import { fakeBackend, mailbox, RENEWAL, type FakeBackend } from './fake-backend';
import { messages } from './i18n';

type User = ReturnType<typeof userEvent.setup>;

function signedIn(): FakeBackend {
  const backend = fakeBackend();
  backend.session = 'acc-demo-mario';
  backend.keyring = 'acc-demo-mario';
  return backend;
}

function renderRenewal(backend: FakeBackend, lang: 'it' | 'en' = 'it') {
  const props = { backend, m: messages[lang], lang, mailbox: null, onclose: vi.fn(), onexpired: vi.fn(), onchanged: vi.fn() };
  render(Renewal, props);
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
  await fill(user, 'rn-tax-code', RENEWAL.registeredCf);
  await user.click(screen.getByTestId('rn-lookup'));
  await step('sign_in');
  await fill(user, 'rn-password', RENEWAL.password);
  await user.click(screen.getByTestId('rn-sign-in'));
  await toPayment(user);
}

async function toPayment(user: User) {
  await step('mailboxes');
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

async function card(user: User, number: string) {
  await fill(user, 'rn-card-number', number);
  await user.selectOptions(screen.getByTestId('rn-card-month'), '12');
  await user.selectOptions(screen.getByTestId('rn-card-year'), String(new Date().getFullYear() + 5));
  await fill(user, 'rn-card-cvc', '123');
  await fill(user, 'rn-card-holder', 'Chiara Conti');
}

describe('Renewal', { timeout: 30_000 }, () => {
  test('a registered company signs in and pays by card: the new expiry and the e-mails are shown', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    const props = renderRenewal(backend);
    await registeredToPayment(user);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Pagamento');
    await card(user, RENEWAL.cardOk);
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', RENEWAL.renewedUntil);
    expect(screen.getByTestId('rn-new-expiry')).toHaveTextContent('22 novembre 2027');
    expect(screen.getByTestId('rn-done')).toHaveTextContent('amministrazione@pec.acme-srl.test');
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('indirizzo indicato nella registrazione');
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('messaggio PEC');
    // Focus follows the new page; one charge; the shell is told to reload the mailboxes.
    expect(document.activeElement).toBe(screen.getByRole('heading', { level: 1, name: 'Rinnovo completato' }));
    expect(backend.renewal.charges).toEqual([{ order: 'ord-1', amount_cents: 1098 }]);
    expect(props.onchanged).toHaveBeenCalled();
    expect(backend.renewal.attempts.map((a) => a.last4)).toEqual(['4242']);
  });

  test('the codice fiscale is shown as the portal wants it: 16 characters, zeros on the left, uppercase', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend);
    await step('entry');
    await fill(user, 'rn-tax-code', ` ${RENEWAL.registeredCf} `);
    await user.click(screen.getByTestId('rn-lookup'));
    await step('sign_in');
    expect(screen.getByTestId('normalised-cf')).toHaveTextContent(RENEWAL.registeredPadded);
    expect(screen.getByTestId('rn-company')).toHaveTextContent('ACME S.r.l.');
    // A code of the wrong length: the provider's message, in an alert.
    await user.click(screen.getByTestId('rn-change-code'));
    await step('entry');
    expect(screen.getByTestId('rn-tax-code')).toHaveValue(RENEWAL.registeredPadded);
    await fill(user, 'rn-tax-code', '123');
    await user.click(screen.getByTestId('rn-lookup'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('questo ne ha 3');
    expect(alert).toHaveAttribute('data-code', 'tax_code.length');
  });

  test('a new company registers with the captcha and the e-mail code, closes the SMS pop-up, and renews', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend);
    await step('entry');
    await fill(user, 'rn-tax-code', RENEWAL.newCf);
    await user.click(screen.getByTestId('rn-lookup'));
    await step('register');
    expect(screen.getByTestId('normalised-cf')).toHaveTextContent(RENEWAL.newPadded);
    expect(screen.getByTestId('rn-activation-email')).toHaveTextContent('c***@example.com');
    const img = await screen.findByTestId('rn-captcha-img');
    expect(img).toHaveAttribute('src', expect.stringMatching(/^data:image\/png;base64,iVBOR/));
    expect(img).toHaveAccessibleName(messages.it.rnCaptchaAlt);
    // "Nuova immagine" gives another captcha.
    const first = img.getAttribute('data-captcha-id')!;
    await user.click(screen.getByTestId('rn-captcha-new'));
    await waitFor(() => expect(screen.getByTestId('rn-captcha-img')).not.toHaveAttribute('data-captcha-id', first));

    await fill(user, 'rn-email', 'servizi@example.com');
    await fill(user, 'rn-mobile', '3337654321');
    await fill(user, 'rn-new-password', 'Portale-Password-1');
    // A wrong answer uses the captcha up: the provider's message and a new image.
    await fill(user, 'rn-captcha-answer', '00000');
    await user.click(screen.getByTestId('rn-register'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('Il codice captcha non è corretto');
    const shown = screen.getByTestId('rn-captcha-img').getAttribute('data-captcha-id')!;
    await waitFor(() => expect(screen.getByTestId('rn-captcha-answer')).toHaveValue(''));
    await fill(user, 'rn-captcha-answer', backend.renewal.captchas[shown]!.answer);
    await user.click(screen.getByTestId('rn-register'));

    await step('email_code');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Verifica l’indirizzo e-mail');
    expect(backend.renewal.outbox.some((m) => m.to === 'servizi@example.com')).toBe(true);
    await fill(user, 'rn-email-code', '999999');
    await user.click(screen.getByTestId('rn-verify-email'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('Codice di verifica errato');
    await fill(user, 'rn-email-code', RENEWAL.emailCode);
    await user.click(screen.getByTestId('rn-verify-email'));

    await step('sms_code');
    const popup = screen.getByRole('dialog');
    expect(popup).toHaveTextContent('la registrazione andrà comunque a buon fine');
    expect(backend.renewal.sms).toHaveLength(1);
    await user.click(within(popup).getByRole('button', { name: messages.it.rnSmsSkip }));

    await step('mailboxes');
    expect(screen.getByTestId('renewal-notice')).toHaveTextContent('Registrazione completata');
    expect(backend.calls).toContain('renewalSkipSms');
    expect(backend.calls).not.toContain('renewalVerifySms');
    expect(screen.getByTestId('rn-box-fatture@pec.acme-srl.test')).toBeChecked();
    await toPaymentFromMailboxes(user);
    await card(user, RENEWAL.cardOk);
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', RENEWAL.renewedUntil);
    // The registration's password now signs the company in.
    expect(backend.renewal.companies[RENEWAL.newPadded]!.password).toBe('Portale-Password-1');
  });

  test('a declined card is explained, nothing is charged, and another card pays', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend);
    await registeredToPayment(user);
    await card(user, RENEWAL.cardDeclined);
    await user.click(screen.getByTestId('rn-pay'));
    const alert = await screen.findByTestId('renewal-error');
    expect(alert).toHaveAttribute('role', 'alert');
    expect(alert).toHaveTextContent('Pagamento rifiutato dal circuito: nessun addebito');
    expect(alert).toHaveTextContent('usa un’altra carta');
    expect(screen.getByTestId('rn-card-number')).toHaveValue('');
    expect(screen.getByTestId('rn-card-cvc')).toHaveValue('');
    expect(backend.renewal.charges).toHaveLength(0);
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('rn-card-number')));

    await fill(user, 'rn-card-number', RENEWAL.cardOk);
    await fill(user, 'rn-card-cvc', '123');
    await user.click(screen.getByTestId('rn-pay'));
    await step('confirmation');
    expect(backend.renewal.charges).toHaveLength(1);
    expect(backend.renewal.attempts.map((a) => a.outcome)).toEqual(['declined', 'succeeded']);
    // A refusal ends that payment: the next attempt carries a new key.
    const [a, b] = backend.renewal.attempts;
    expect(a!.key).not.toBe(b!.key);
  });

  test('after a timeout the retry reuses the idempotency key and charges once', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend);
    await registeredToPayment(user);
    await card(user, RENEWAL.cardTimeout);
    await user.click(screen.getByTestId('rn-pay'));
    expect(await screen.findByTestId('renewal-error')).toHaveTextContent('non ha risposto in tempo');
    expect(screen.getByTestId('rn-retry-note')).toHaveTextContent('non ti sarà addebitato due volte');
    // The data stays as it was, so the retry is the same payment.
    expect(screen.getByTestId('rn-card-number')).toHaveValue(RENEWAL.cardTimeout);
    expect(screen.getByTestId('renewal')).toHaveAttribute('data-step', 'payment');
    await user.click(screen.getByTestId('rn-retry-pay'));
    await step('confirmation');
    const keys = backend.renewal.attempts.map((a) => a.key);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
    expect(backend.renewal.attempts.map((a) => a.outcome)).toEqual(['timed_out', 'replayed']);
    expect(backend.renewal.charges).toEqual([{ order: 'ord-1', amount_cents: 1098 }]);
    expect(screen.getByTestId('rn-new-expiry')).toHaveAttribute('data-date', RENEWAL.renewedUntil);
  });

  test('English labels, and the progress of the steps', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend, 'en');
    await step('entry');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Company codice fiscale');
    await user.type(screen.getByLabelText('Company codice fiscale *'), RENEWAL.registeredCf);
    await user.click(screen.getByRole('button', { name: 'Continue' }));
    await step('sign_in');
    expect(screen.getByText(/Step 2 of 7/)).toBeInTheDocument();
    await user.type(screen.getByLabelText('Portal password *'), RENEWAL.password);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await step('mailboxes');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Manage – Services');
    await user.click(screen.getByRole('button', { name: 'Confirm' }));
    await step('representative');
    expect(screen.getByTestId('rn-price')).toHaveTextContent('+ VAT 22%');
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
    expect(screen.getByTestId('rn-phone-charge')).toHaveTextContent('02 1234 5678');
    await user.click(screen.getByRole('button', { name: /^Pay / }));
    await step('confirmation');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Renewal completed');
    expect(screen.getByTestId('rn-mails')).toHaveTextContent('a PEC message in the renewed mailbox');
  });

  test('required fields are labelled and reported without calling the portal', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    renderRenewal(backend);
    await step('entry');
    await user.click(screen.getByTestId('rn-lookup'));
    expect(await screen.findByTestId('rn-tax-code-error')).toHaveTextContent('Campo obbligatorio.');
    expect(screen.getByLabelText('Codice fiscale dell’azienda *')).toHaveAttribute('aria-invalid', 'true');
    expect(backend.calls).not.toContain('renewalLookup');
  });

  test('the shell opens the renewal from a mailbox page and closes it, dropping the portal session', async () => {
    const user = userEvent.setup();
    const backend = signedIn();
    backend.accounts['acc-demo-mario']!.mailboxes = [
      mailbox('amministrazione@pec.acme-srl.test', {
        holder: {
          kind: 'company',
          business_name: 'ACME S.r.l.',
          tax_code: RENEWAL.registeredCf,
          legal_representative: { first_name: 'Chiara', last_name: 'Conti', tax_code: 'CNTCHR83T41D969D' },
        },
      }),
    ];
    render(Shell, { backend, m: messages.it, lang: 'it', account: 'acc-demo-mario', onexpired: vi.fn(), onsignout: vi.fn() });
    await user.click(await screen.findByTestId('renew'));
    await step('entry');
    // Prefilled from the mailbox's holder.
    expect(screen.getByTestId('rn-tax-code')).toHaveValue(RENEWAL.registeredCf);
    await user.click(screen.getByTestId('rn-close'));
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent('amministrazione@pec.acme-srl.test');
    await waitFor(() => expect(backend.calls).toContain('renewalClose'));
  });
});

async function toPaymentFromMailboxes(user: User) {
  await user.click(screen.getByTestId('rn-mailbox-confirm'));
  await step('representative');
  await fill(user, 'rn-rep-first', 'Chiara');
  await fill(user, 'rn-rep-last', 'Conti');
  await fill(user, 'rn-rep-cf', 'CNTCHR83T41D969D');
  await user.click(screen.getByTestId('rn-rep-continue'));
  await step('payment_method');
  await user.click(screen.getByTestId('rn-method-card'));
  await user.click(screen.getByTestId('rn-method-continue'));
  await step('payment');
}
