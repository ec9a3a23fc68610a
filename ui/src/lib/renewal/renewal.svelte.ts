// The renewal wizard's state: what the user typed for each step of the association's portal
// (the portal keeps the rest; Rust keeps its session and the payment's idempotency key), and
// the calls that move from step to step. Step components read it with `useRenewal()`.
import { getContext, setContext, tick } from 'svelte';
import type {
  BackendError,
  CaptchaView,
  CardInput,
  FieldKind,
  Mailbox,
  PaymentMethod,
  PriceView,
  RegistrationView,
  RenewableMailbox,
  RenewalLookup,
  RenewalOrder,
  UiCode,
  WalletKind,
} from '../backend';
import { toBackendError } from '../backend';
import type { AppContext } from '../context.svelte';
import { fmt } from '../i18n';

const KEY = Symbol('renewal');

export type Step =
  | 'entry'
  | 'sign_in'
  | 'register'
  | 'email_code'
  | 'sms_code'
  | 'mailboxes'
  | 'representative'
  | 'payment_method'
  | 'payment'
  | 'confirmation';

/** Codes after which a payment may or may not have gone through: the retry reuses the key. */
const UNKNOWN_OUTCOME: readonly string[] = [
  'payment.gateway_timeout',
  'provider.timeout',
  'provider.unreachable',
  'provider.bad_answer',
  'ipc.unexpected',
] satisfies UiCode[];

export class RenewalState {
  step = $state<Step>('entry');
  busy = $state(false);
  error = $state<BackendError | null>(null);
  notice = $state<string | null>(null);
  fieldErrors = $state<Record<string, string>>({});

  // Entry and sign-in
  taxCode = $state('');
  lookup = $state<RenewalLookup | null>(null);
  password = $state('');

  // Registration
  email = $state('');
  mobile = $state('');
  newPassword = $state('');
  captcha = $state<CaptchaView | null>(null);
  captchaAnswer = $state('');
  captchaBusy = $state(false);
  registration = $state<RegistrationView | null>(null);
  emailCode = $state('');
  smsCode = $state('');

  // Mailbox, representative, payment
  boxes = $state<RenewableMailbox[]>([]);
  chosen = $state('');
  repFirst = $state('');
  repLast = $state('');
  repCf = $state('');
  method = $state<PaymentMethod['kind']>('card');
  line = $state('');
  wallet = $state<WalletKind>('paypal');
  order = $state<RenewalOrder | null>(null);
  card = $state({ number: '', month: '', year: '', cvc: '', holder: '' });
  walletAccount = $state('');
  /** How the last payment attempt ended, when it did not succeed. */
  payFailure = $state<'unknown' | 'declined' | null>(null);

  readonly chosenBox = $derived(this.boxes.find((b) => b.address === this.chosen) ?? null);
  readonly path = $derived<Step[]>(
    this.lookup?.registered === false
      ? ['entry', 'register', 'email_code', 'sms_code', 'mailboxes', 'representative', 'payment_method', 'payment', 'confirmation']
      : ['entry', 'sign_in', 'mailboxes', 'representative', 'payment_method', 'payment', 'confirmation'],
  );
  readonly stepNumber = $derived(this.path.indexOf(this.step) + 1);

  constructor(
    readonly app: AppContext,
    readonly mailbox: Mailbox | null,
    private readonly onchanged: () => void,
  ) {
    const h = mailbox?.holder;
    this.taxCode = h && h.kind !== 'private_citizen' ? h.tax_code : '';
    const rep = h?.kind === 'company' ? (h.legal_representative ?? null) : h?.kind === 'private_citizen' ? h : null;
    this.repFirst = rep?.first_name ?? '';
    this.repLast = rep?.last_name ?? '';
    this.repCf = rep?.tax_code ?? '';
  }

  get backend() {
    return this.app.backend;
  }

  /** Runs a backend call with progress shown and its error, if any, in the alert. */
  async run(call: () => Promise<void>): Promise<boolean> {
    this.busy = true;
    this.error = null;
    this.notice = null;
    try {
      await call();
      return true;
    } catch (cause) {
      const e = this.app.fail(cause);
      if (e && (e.is('auth.unauthorized') || e.is('session.required'))) {
        // The portal session is gone (expired, or the app restarted): sign in again.
        this.error = e;
        this.password = '';
        await this.go(this.lookup?.registered ? 'sign_in' : 'entry');
      } else {
        this.error = e;
      }
      return false;
    } finally {
      this.busy = false;
    }
  }

  async go(next: Step) {
    this.step = next;
    this.fieldErrors = {};
    await tick();
    document.getElementById('renewal-heading')?.focus();
  }

  /** Marks the empty ones of `values` (by field id) as required; true when none is empty. */
  required(values: Record<string, string>): boolean {
    const errors: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) if (!value.trim()) errors[key] = this.app.m.rnRequired;
    this.fieldErrors = errors;
    if (Object.keys(errors).length) {
      this.notice = this.app.m.rnFixErrors;
      void tick().then(() => document.getElementById(Object.keys(errors)[0]!)?.focus());
      return false;
    }
    return true;
  }

  /** The domain's rule for a field, from Rust; on success the value in its normal form. */
  async valid(id: string, kind: FieldKind, value: string): Promise<string | null> {
    try {
      const r = await this.backend.fieldValidate(kind, value.trim());
      if (r.valid) return r.normalized ?? value.trim();
      this.fieldErrors = { ...this.fieldErrors, [id]: r.error ? r.error[`message_${this.app.lang}`] : this.app.m.rnRequired };
    } catch (cause) {
      this.error = toBackendError(cause);
    }
    return null;
  }

  money(cents: number, currency: string): string {
    return new Intl.NumberFormat(this.app.m.locale, { style: 'currency', currency }).format(cents / 100);
  }

  priceDetail(p: PriceView): string {
    return fmt(this.app.m, 'rnPriceDetail', {
      net: this.money(p.net_cents, p.currency),
      rate: p.vat_rate_percent,
      vat: this.money(p.vat_cents, p.currency),
      total: this.money(p.total_cents, p.currency),
    });
  }

  async submitEntry() {
    if (!this.required({ 'rn-tax-code': this.taxCode })) return;
    const typed = this.taxCode;
    let found = null as RenewalLookup | null;
    const ok = await this.run(async () => {
      found = await this.backend.renewalLookup(typed);
    });
    if (!ok || !found) return;
    this.lookup = found;
    // The form the portal wants (16 characters, zeros on the left, uppercase) replaces what
    // was typed, so the user sees it.
    this.taxCode = this.lookup.tax_code;
    if (this.lookup.registered) {
      await this.go('sign_in');
    } else {
      await this.go('register');
      await this.newCaptcha();
    }
  }

  async submitSignIn() {
    const lookup = this.lookup;
    if (!lookup || !this.required({ 'rn-password': this.password })) return;
    const secret = this.password;
    this.password = '';
    const ok = await this.run(() => this.backend.renewalSignIn(lookup.tax_code, secret));
    if (ok) await this.toMailboxes();
  }

  async newCaptcha() {
    this.captchaBusy = true;
    this.captchaAnswer = '';
    try {
      this.captcha = await this.backend.renewalCaptcha();
    } catch (cause) {
      this.captcha = null;
      this.error = toBackendError(cause);
    } finally {
      this.captchaBusy = false;
    }
  }

  async submitRegistration() {
    const lookup = this.lookup;
    const captcha = this.captcha;
    if (!lookup || !captcha) return;
    const filled = this.required({
      'rn-email': this.email,
      'rn-mobile': this.mobile,
      'rn-new-password': this.newPassword,
      'rn-captcha-answer': this.captchaAnswer,
    });
    if (!filled) return;
    const [email, mobile] = await Promise.all([this.valid('rn-email', 'email', this.email), this.valid('rn-mobile', 'mobile', this.mobile)]);
    if (!email || !mobile) {
      this.notice = this.app.m.rnFixErrors;
      return;
    }
    const form = { taxCode: lookup.tax_code, email, mobile, password: this.newPassword, captchaId: captcha.id, captchaAnswer: this.captchaAnswer };
    const ok = await this.run(async () => {
      this.registration = await this.backend.renewalRegister(form);
    });
    if (ok) {
      this.newPassword = '';
      await this.go('email_code');
    } else {
      // Any attempt uses the captcha up, right or wrong: show a new one.
      await this.newCaptcha();
    }
  }

  async submitCode(which: 'email' | 'sms') {
    const registration = this.registration;
    const id = which === 'email' ? 'rn-email-code' : 'rn-sms-code';
    const code = which === 'email' ? this.emailCode : this.smsCode;
    if (!registration || !this.required({ [id]: code })) return;
    this.emailCode = '';
    this.smsCode = '';
    const ok = await this.run(async () => {
      this.registration =
        which === 'email'
          ? await this.backend.renewalVerifyEmail(registration.id, code)
          : await this.backend.renewalVerifySms(registration.id, code);
    });
    if (!ok) return;
    if (which === 'email') await this.go('sms_code');
    else await this.toMailboxes(this.app.m.rnRegistered);
  }

  async skipSms() {
    const registration = this.registration;
    if (!registration || this.busy) return;
    const ok = await this.run(async () => {
      this.registration = await this.backend.renewalSkipSms(registration.id);
    });
    if (ok) await this.toMailboxes(this.app.m.rnRegistered);
  }

  async toMailboxes(message: string | null = null) {
    const ok = await this.run(async () => {
      this.boxes = await this.backend.renewalMailboxes();
    });
    if (!ok) return;
    const renewable = this.boxes.filter((b) => b.expiry.status !== 'ceased');
    this.chosen = renewable.find((b) => b.address === this.mailbox?.address)?.address ?? renewable[0]?.address ?? '';
    await this.go('mailboxes');
    this.notice = message;
  }

  async submitRepresentative() {
    if (!this.required({ 'rn-rep-first': this.repFirst, 'rn-rep-last': this.repLast, 'rn-rep-cf': this.repCf })) return;
    const [first, last, cf] = await Promise.all([
      this.valid('rn-rep-first', 'name', this.repFirst),
      this.valid('rn-rep-last', 'name', this.repLast),
      this.valid('rn-rep-cf', 'codice_fiscale', this.repCf),
    ]);
    if (!first || !last || !cf) {
      this.notice = this.app.m.rnFixErrors;
      return;
    }
    this.repFirst = first;
    this.repLast = last;
    this.repCf = cf;
    await this.go('payment_method');
  }

  async submitMethod() {
    const box = this.chosenBox;
    if (!box) return;
    if (this.method === 'phone_line' && !this.required({ 'rn-line': this.line })) return;
    const payment: PaymentMethod =
      this.method === 'phone_line'
        ? { kind: 'phone_line', line_number: this.line.trim() }
        : this.method === 'wallet'
          ? { kind: 'wallet', wallet: this.wallet }
          : { kind: 'card' };
    const rep = { first_name: this.repFirst.trim(), last_name: this.repLast.trim(), tax_code: this.repCf.trim() };
    const ok = await this.run(async () => {
      this.order = await this.backend.renewalCreateOrder(box.address, rep, payment);
    });
    if (ok) {
      this.payFailure = null;
      await this.go('payment');
    }
  }

  async pay() {
    const order = this.order;
    if (!order) return;
    let card: CardInput | null = null;
    let walletAccount: string | null = null;
    if (order.payment_method.kind === 'card') {
      const c = this.card;
      const filled = this.required({
        'rn-card-number': c.number,
        'rn-card-month': c.month,
        'rn-card-year': c.year,
        'rn-card-cvc': c.cvc,
        'rn-card-holder': c.holder,
      });
      if (!filled) return;
      card = { number: c.number, expiry_month: Number(c.month), expiry_year: Number(c.year), cvc: c.cvc, holder_name: c.holder };
    } else if (order.payment_method.kind === 'wallet') {
      if (!this.required({ 'rn-wallet-account': this.walletAccount })) return;
      walletAccount = this.walletAccount.trim();
    }
    let failure: BackendError | null = null;
    this.busy = true;
    this.error = null;
    this.notice = null;
    try {
      this.order = await this.backend.renewalPay(order.id, card, walletAccount);
    } catch (cause) {
      failure = toBackendError(cause);
    } finally {
      this.busy = false;
    }
    if (!failure) {
      this.payFailure = null;
      this.card.number = '';
      this.card.cvc = '';
      this.onchanged();
      await this.go('confirmation');
      return;
    }
    this.error = this.app.fail(failure);
    if (!this.error) return;
    if (failure.is('auth.unauthorized') || failure.is('session.required')) {
      this.password = '';
      await this.go(this.lookup?.registered === false ? 'entry' : 'sign_in');
      return;
    }
    if (UNKNOWN_OUTCOME.includes(failure.code)) {
      // The gateway may have charged: keep the data as it was, so the retry is the same
      // payment (Rust reuses its key).
      this.payFailure = 'unknown';
    } else {
      this.payFailure = failure.is('payment.declined') ? 'declined' : null;
      if (failure.is('payment.declined')) {
        // Try another card: the declined one's number and code go.
        this.card.number = '';
        this.card.cvc = '';
        await tick();
        document.getElementById('rn-card-number')?.focus();
      }
    }
  }

  async changeMethod() {
    this.order = null;
    this.payFailure = null;
    await this.go('payment_method');
  }

  async restart() {
    this.lookup = null;
    this.registration = null;
    this.captcha = null;
    this.password = '';
    this.error = null;
    await this.go('entry');
  }
}

export function provideRenewal(state: RenewalState): RenewalState {
  return setContext(KEY, state);
}

export function useRenewal(): RenewalState {
  const state = getContext<RenewalState | undefined>(KEY);
  if (!state) throw new Error('useRenewal() outside the renewal');
  return state;
}
