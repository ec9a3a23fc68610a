// An in-memory Backend for component tests: no Tauri, no IPC. Tests can make any call fail,
// and can let the session expire to see the way back through sign-in.
import {
  BackendError,
  SESSION_EXPIRED,
  type AppInfo,
  type AppPassword,
  type Backend,
  type CardCheck,
  type Draft,
  type IdentityAction,
  type IdentityRequest,
  type ReadersUpdate,
  type Step,
  type BrandingView,
  type Language,
  type Mailbox,
  type Notification,
  type ProviderInfo,
  type SessionView,
  type Settings,
  type UpdateNotice,
} from './backend';
import { fakeBackupCalls, fakeBackupState, type FakeBackupState } from './fake-backup';
import { fakeRegistryCalls, fakeRegistryState, type FakeRegistryState } from './fake-registry';
import type {
  CardInput,
  PaymentMethod,
  PersonData,
  PriceView,
  RenewableMailbox,
  RenewalBackend,
  RenewalOrder,
  RenewalRegistration,
} from './backend';

export interface FakeBackend extends Backend, FakeRegistryState, FakeBackupState {
  settings: Settings;
  calls: string[];
  failNext: Partial<Record<keyof Backend, BackendError>>;
  provider: ProviderInfo;
  /** Accounts: login → password and mailboxes. */
  accounts: Record<string, { password: string; mailboxes: Mailbox[]; notifications: Notification[] }>;
  /** The signed-in account, if any. */
  session: string | null;
  /** What the "keyring" holds: the account whose session a restart would restore. */
  keyring: string | null;
  /** Makes the next authenticated call answer `session.expired`. */
  expireSession(): void;
  /** Identity requests by id. */
  requests: Record<string, IdentityRequest>;
  /** The draft "on disk". */
  draft: Draft | null;
  /** What the card readers show, and what the pre-flight answers. */
  readers: ReadersUpdate;
  cardCheck: CardCheck;
  /** PINs the "card" received, in order (tests assert a PIN is never sent twice). */
  pinsSent: string[];
  pinTriesLeft: number;
  spidStatus: 'pending' | 'authorised' | 'denied' | 'expired';
  appPasswordList: AppPassword[];
  /** The association of a branded build; `null` is the plain build. */
  brand: BrandingView | null;
  /** What the release feed says; `null` is "up to date" (or unreachable). */
  update: UpdateNotice | null;
}


/** The OTP, two-step code and PIN the fake accepts. */
export const FAKE_OTP = '123456';
export const FAKE_PIN = '12345678';

const PREV: Partial<Record<Step, Step>> = {
  awaiting_holder_email: 'choosing_role',
  choosing_holder_kind: 'choosing_role',
  entering_data: 'choosing_holder_kind',
  summary: 'entering_data',
  choosing_method: 'summary',
};

function wrongPin(triesLeft: number): BackendError {
  return new BackendError({
    code: 'card.pin_wrong',
    message_it: `PIN errato. Restano ${triesLeft} tentativi prima del blocco.`,
    message_en: `Wrong PIN. ${triesLeft} tries left before the card locks.`,
  });
}

export const expiredError = new BackendError({
  code: SESSION_EXPIRED,
  message_it: 'La sessione è scaduta: accedi di nuovo per continuare da dove eri rimasto.',
  message_en: 'Your session has expired: sign in again to continue where you left off.',
});

export function mailbox(address: string, over: Partial<Mailbox> = {}): Mailbox {
  return {
    address,
    holder: { kind: 'private_citizen', first_name: 'Mario', last_name: 'Rossi', tax_code: 'RSSMRA45C12F205C' },
    contact: { email: 'mario.rossi@example.com' },
    identity_state: 'to_confirm',
    identity_state_label_it: 'Da confermare',
    qualified: false,
    expires_on: '2027-03-31',
    two_step_login: false,
    ...over,
  };
}

export function banner(address: string): Notification {
  return {
    id: `banner:${address}`,
    kind: 'identity_banner',
    mailbox: address,
    title_it: 'Adegua la tua PEC agli standard europei',
    title_en: 'Bring your PEC up to the European standard',
    body_it: 'Conferma l’identità del titolare della casella.',
    body_en: 'Confirm the identity of the mailbox holder.',
    created_at: '2026-11-01T09:00:00Z',
    read: false,
  };
}

export function demoAccounts(): FakeBackend['accounts'] {
  return {
    'acc-demo-mario': {
      password: 'Demo-Password-1',
      mailboxes: [
        mailbox('mario.rossi@pec.sandbox.test'),
        mailbox('studio.rossi@pec.sandbox.test', {
          holder: { kind: 'professional', name: 'Studio Rossi', tax_code: 'RSSMRA45C12F205C' },
          identity_state: 'completed',
          identity_state_label_it: 'Completato',
          qualified: true,
        }),
      ],
      notifications: [banner('mario.rossi@pec.sandbox.test')],
    },
    'acc-single': {
      password: 'Demo-Password-1',
      mailboxes: [mailbox('solo@pec.sandbox.test')],
      notifications: [],
    },
  };
}

export function fakeBackend(initial: Partial<Settings> = {}): FakeBackend {
  const info: AppInfo = { name: 'PEC Desktop', version: '9.9.9', log_dir: '/tmp/pec-logs' };
  let expireNext = false;
  const fake: FakeBackend = {
    ...fakeBackupState(),
    ...fakeBackupCalls(() => fake, answer),
    ...fakeRegistryState(),
    ...fakeRegistryCalls(() => fake, answer),
    settings: { language: 'it', ...initial },
    calls: [],
    failNext: {},
    provider: {
      base_url: 'http://127.0.0.1:9',
      embedded: true,
      demo_accounts: [
        { login: 'acc-demo-mario', name: 'Mario Rossi', mailboxes: ['mario.rossi@pec.sandbox.test', 'studio.rossi@pec.sandbox.test'] },
      ],
      last_login: null,
    },
    accounts: demoAccounts(),
    session: null,
    keyring: null,
    brand: null,
    update: null,
    expireSession() {
      expireNext = true;
    },
    async appInfo() {
      return answer('appInfo', () => info);
    },
    async getSettings() {
      return answer('getSettings', () => ({ ...fake.settings }));
    },
    async setLanguage(language: Language) {
      return answer('setLanguage', () => {
        fake.settings = { ...fake.settings, language };
        return { ...fake.settings };
      });
    },
    async providerInfo() {
      return answer('providerInfo', () => ({ ...fake.provider, last_login: fake.settings.last_account ?? null }));
    },
    async signIn(login: string, password: string) {
      return answer('signIn', () => {
        const account = fake.accounts[login];
        if (!account || account.password !== password) {
          throw new BackendError({
            code: 'auth.invalid_credentials',
            message_it: 'Nome utente o password non corretti.',
            message_en: 'Wrong user name or password.',
          });
        }
        return startSession(login);
      });
    },
    async signInDemo(login: string) {
      return answer('signInDemo', () => startSession(login));
    },
    async restoreSession() {
      return answer('restoreSession', () => {
        if (fake.session) return { account_id: fake.session };
        if (fake.keyring) {
          fake.session = fake.keyring;
          return { account_id: fake.keyring };
        }
        return null;
      });
    },
    async signOut() {
      return answer('signOut', () => {
        fake.session = null;
        fake.keyring = null;
      });
    },
    async listMailboxes() {
      return answer('listMailboxes', () => structuredClone(current().mailboxes));
    },
    async listNotifications() {
      return answer('listNotifications', () => structuredClone(current().notifications));
    },
    async markNotificationRead(id: string) {
      return answer('markNotificationRead', () => {
        const n = current().notifications.find((x) => x.id === id);
        if (n) n.read = true;
      });
    },
    requests: {},
    draft: null,
    readers: {
      readers: [{ name: 'Virtual PCD 00 00', card: 'cns', card_label: 'CNS 1.1 (STIncard, RSA-2048)', atr: '3B FF', busy: false }],
      error: null,
    },
    cardCheck: {
      reader: 'Virtual PCD 00 00',
      card_label: 'CNS 1.1 (STIncard, RSA-2048)',
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
    },
    pinsSent: [],
    pinTriesLeft: 3,
    spidStatus: 'pending',
    appPasswordList: [],
    async identityStart(address: string) {
      return answer('identityStart', () => {
        current();
        const open = Object.values(fake.requests).find((r) => r.mailbox === address && r.step !== 'completed');
        if (open) return structuredClone(open);
        const r: IdentityRequest = {
          id: `req-${Object.keys(fake.requests).length + 1}`,
          mailbox: address,
          step: 'choosing_role',
          state: 'to_confirm',
          state_label_it: 'Da confermare',
          documents: [],
          updated_at: '2026-11-22T10:00:00Z',
        };
        fake.requests[r.id] = r;
        return structuredClone(r);
      });
    },
    async identityGet(id: string) {
      return answer('identityGet', () => structuredClone(request(id)));
    },
    async identityAct(id: string, action: IdentityAction) {
      return answer('identityAct', () => structuredClone(apply(request(id), action)));
    },
    async identityUpload(id: string, filename: string, bytes: Uint8Array) {
      return answer('identityUpload', () => {
        const r = request(id);
        r.documents.push({ id: `doc-${r.documents.length + 1}`, filename, media_type: 'application/pdf', size: bytes.length, uploaded_at: '2026-11-22T10:00:00Z' });
        return structuredClone(r);
      });
    },
    async validateField(kind, value) {
      return answer('validateField', () => {
        const v = value.trim();
        const rules: Record<string, RegExp> = {
          codice_fiscale: /^[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]$/i,
          tax_code: /^([A-Z]{6}[0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]|\d{11})$/i,
          partita_iva: /^\d{11}$/,
          email: /^[^@\s]+@[^@\s]+\.[^@\s]+$/,
          mobile: /^(\+39)?3\d{8,9}$/,
          name: /\S/,
        };
        if (rules[kind]!.test(v)) return { valid: true, normalized: kind === 'name' ? v : kind === 'email' ? v.toLowerCase() : v.toUpperCase(), error: null };
        return {
          valid: false,
          normalized: null,
          error: { code: `${kind}.invalid`, message_it: 'Valore non valido.', message_en: 'Invalid value.' },
        };
      });
    },
    async guideLink() {
      return answer('guideLink', () => ({ url: 'http://127.0.0.1:9/guida/conferma-identita', qr_svg: '<svg viewBox="0 0 1 1"></svg>' }));
    },
    async spidStart(id: string) {
      return answer('spidStart', () => {
        request(id);
        return { handle: 'h1', login_url: `http://127.0.0.1:9/sandbox/spid/login/h1`, expires_at: '2026-11-22T10:10:00Z', qr_svg: '<svg viewBox="0 0 1 1"></svg>' };
      });
    },
    async spidOpen() {
      return answer('spidOpen', () => undefined);
    },
    async spidPoll(id: string) {
      return answer('spidPoll', () => {
        const r = request(id);
        if (fake.spidStatus === 'authorised') {
          r.step = 'identified';
          return { status: 'authorised' as const, request: structuredClone(r) };
        }
        return { status: fake.spidStatus };
      });
    },
    async remoteSignature(id: string) {
      return answer('remoteSignature', () => {
        const r = request(id);
        r.step = 'identified';
        return structuredClone(r);
      });
    },
    async webcamSlots() {
      return answer('webcamSlots', () => [{ starts_at: '2026-11-23T09:00:00Z', minutes: 20 }]);
    },
    async webcamBook(id: string, startsAt: string) {
      return answer('webcamBook', () => ({ id: 'b1', request_id: id, starts_at: startsAt, status: 'booked' as const }));
    },
    async twoStepEnrol() {
      return answer('twoStepEnrol', () => ({ secret: 'JBSWY3DPEHPK3PXP', qr_svg: '<svg viewBox="0 0 1 1"></svg>' }));
    },
    async twoStepConfirm(address: string, code: string) {
      return answer('twoStepConfirm', () => {
        const box = current().mailboxes.find((b) => b.address === address)!;
        if (code !== FAKE_OTP) throw new BackendError({ code: 'totp.invalid', message_it: 'Codice non valido.', message_en: 'Invalid code.' });
        box.two_step_login = true;
        return structuredClone(box);
      });
    },
    async appPasswords() {
      return answer('appPasswords', () => fake.appPasswordList.map(({ password: _p, ...rest }) => rest));
    },
    async appPasswordCreate(_address: string, label: string, code: string) {
      return answer('appPasswordCreate', () => {
        if (code !== FAKE_OTP) throw new BackendError({ code: 'two_step.code_invalid', message_it: 'Codice non valido.', message_en: 'Invalid code.' });
        const p = { id: `ap-${fake.appPasswordList.length + 1}`, label, created_at: '2026-11-22T10:00:00Z' };
        fake.appPasswordList.push(p);
        return { ...p, password: 'abcd-efgh-ijkl-mnop' };
      });
    },
    async appPasswordDelete(_address: string, id: string) {
      return answer('appPasswordDelete', () => {
        fake.appPasswordList = fake.appPasswordList.filter((p) => p.id !== id);
      });
    },
    async draftLoad() {
      return answer('draftLoad', () => (fake.draft ? structuredClone(fake.draft) : null));
    },
    async draftSave(draft: Draft) {
      return answer('draftSave', () => {
        fake.draft = structuredClone(draft);
      });
    },
    async draftClear() {
      return answer('draftClear', () => {
        fake.draft = null;
      });
    },
    async cardReaders() {
      return answer('cardReaders', () => structuredClone(fake.readers));
    },
    async cardWatch(onUpdate) {
      return answer('cardWatch', () => {
        onUpdate(structuredClone(fake.readers));
      });
    },
    async cardUnwatch() {
      return answer('cardUnwatch', () => undefined);
    },
    async cardPreflight() {
      return answer('cardPreflight', () => structuredClone(fake.cardCheck));
    },
    async cardIdentify(id: string, _reader: string, pin: string) {
      return answer('cardIdentify', () => {
        const r = request(id);
        fake.pinsSent.push(pin);
        if (pin !== FAKE_PIN) {
          fake.pinTriesLeft -= 1;
          fake.cardCheck = { ...fake.cardCheck, pin: { tries_left: fake.pinTriesLeft, blocked: false } };
          throw wrongPin(fake.pinTriesLeft);
        }
        r.step = 'identified';
        return structuredClone(r);
      });
    },
    async branding() {
      return answer('branding', () => (fake.brand ? structuredClone(fake.brand) : null));
    },
    async checkForUpdate() {
      return answer('checkForUpdate', () => (fake.update ? { ...fake.update } : null));
    },
    ...renewalFake(answer),
  };

  function request(id: string): IdentityRequest {
    current();
    const r = fake.requests[id];
    if (!r) throw new BackendError({ code: 'identity.not_found', message_it: 'Richiesta non trovata.', message_en: 'Request not found.' });
    return r;
  }

  function apply(r: IdentityRequest, a: IdentityAction): IdentityRequest {
    switch (a.type) {
      case 'choose_role':
        r.step = a.role === 'other' ? 'awaiting_holder_email' : 'choosing_holder_kind';
        break;
      case 'submit_holder_email':
        r.step = 'delegation_link_sent';
        r.holder_email = a.holder_email;
        break;
      case 'choose_holder_kind':
        r.step = 'entering_data';
        r.holder_kind = a.kind;
        break;
      case 'submit_data':
        r.step = 'summary';
        r.draft = { holder: a.holder, contact: a.contact };
        break;
      case 'confirm_summary':
        r.step = 'choosing_method';
        break;
      case 'back':
        r.step = PREV[r.step] ?? r.step;
        break;
      case 'choose_method':
        r.step = 'identifying';
        r.method = a.method;
        break;
      case 'abandon_identification':
      case 'retry':
        r.step = 'choosing_method';
        break;
      case 'proceed':
        r.step = 'accepting_terms';
        break;
      case 'complete_request':
      case 'resend_otp':
      {
        // One instant for all three, as a provider stamps them: the countdown is their difference.
        const at = Date.now();
        r.step = 'otp_sent';
        r.updated_at = new Date(at).toISOString();
        r.otp_expires_at = new Date(at + 60_000).toISOString();
        r.resend_available_at = new Date(at + 30_000).toISOString();
        r.otp_attempts_left = 3;
        break;
      }
      case 'confirm_otp': {
        if (a.code !== FAKE_OTP) {
          r.otp_attempts_left = (r.otp_attempts_left ?? 3) - 1;
          throw new BackendError({ code: 'otp.invalid', message_it: 'Codice OTP non valido.', message_en: 'Invalid OTP code.' });
        }
        r.step = 'completed';
        r.state = 'completed';
        const box = current().mailboxes.find((b) => b.address === r.mailbox);
        if (box) {
          box.identity_state = 'completed';
          box.identity_state_label_it = 'Completato';
          box.qualified = true;
        }
        break;
      }
      case 'change_holder':
      case 'change_legal_representative':
        r.step = 'holder_change_required';
        break;
      case 'submit_documents':
        r.step = 'checks_in_progress';
        r.state = 'checks_in_progress';
        break;
    }
    return r;
  }

  function startSession(login: string): SessionView {
    fake.session = login;
    fake.keyring = login;
    fake.settings = { ...fake.settings, last_account: login };
    return { account_id: login };
  }

  function current() {
    const account = fake.session ? fake.accounts[fake.session] : undefined;
    if (!account || expireNext) {
      expireNext = false;
      fake.session = null;
      fake.keyring = null;
      throw expiredError;
    }
    return account;
  }

  function answer<T>(name: keyof Backend, result: () => T): T {
    fake.calls.push(name);
    const failure = fake.failNext[name];
    if (failure) {
      delete fake.failNext[name];
      throw failure;
    }
    return result();
  }

  return fake;
}

// ---------------------------------------------------------------------------------------------
// Renewal portal (seed 004). A fake of what Rust and the portal do together, including Rust's
// rule for the payment's idempotency key (one per order payment, kept after an unknown outcome,
// dropped after a refusal or success), so tests can assert a retry reuses it and charges once.

export const RENEWAL = {
  /** ACME S.r.l.: registered, signs in with `password`. */
  registeredCf: '00743110157',
  registeredPadded: '0000000743110157',
  password: 'Demo-Password-1',
  /** ACME Servizi S.r.l.: not registered yet. */
  newCf: '07973780013',
  newPadded: '0000007973780013',
  emailCode: '246810',
  smsCode: '135790',
  phoneLine: '0212345678',
  today: '2026-11-22',
  renewedUntil: '2027-11-22',
  cardOk: '4242424242424242',
  cardDeclined: '4000000000000002',
  /** The worst case of a lost answer: the gateway charged, the answer timed out. */
  cardTimeout: '4000000000000119',
} as const;

export interface FakeRenewal {
  companies: Record<string, { password: string | null; business_name: string; email_masked: string; mailboxes: RenewableMailbox[] }>;
  captchas: Record<string, { answer: string; used: boolean }>;
  registrations: Record<string, RenewalRegistration & { password: string }>;
  /** The company signed in to the portal (normalised code), if any. */
  signedIn: string | null;
  orders: Record<string, RenewalOrder>;
  /** Rust's key map: order id → the key of its payment in progress. */
  keys: Record<string, string>;
  /** The portal's idempotency records: key → the paid order it answered. */
  replies: Record<string, RenewalOrder>;
  /** Every payment attempt, with the key it carried and the card's last four digits. */
  attempts: { order: string; key: string; last4: string | null; outcome: 'succeeded' | 'declined' | 'timed_out' | 'replayed' }[];
  /** Charges that moved money. */
  charges: { order: string; amount_cents: number }[];
  /** E-mails "sent": verification codes and confirmations. */
  outbox: { to: string; subject: string }[];
  /** SMS "sent". */
  sms: { to: string; body: string }[];
}

export interface FakeBackend {
  renewal: FakeRenewal;
}

function renewalPrice(): PriceView {
  return { net_cents: 900, vat_rate_percent: 22, vat_cents: 198, total_cents: 1098, currency: 'EUR', label_it: '9,00 € + IVA 22% (1,98 €) = 10,98 €' };
}

function renewableBox(address: string, business_name: string, expires_on: string): RenewableMailbox {
  return {
    address,
    business_name,
    expiry: {
      expires_on,
      today: RENEWAL.today,
      days_to_expiry: 9,
      status: 'expiring_soon',
      reminder_from: '2026-11-01',
      renewable_until: '2027-02-28',
      ceases_on: '2027-03-01',
      offer_backup: true,
    },
    price: renewalPrice(),
  };
}

function renewalError(code: string, it: string, en: string): BackendError {
  return new BackendError({ code, message_it: it, message_en: en });
}

/** 1×1 transparent PNG: the fake's captcha image. */
const FAKE_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

function renewalFake(answer: <T>(name: keyof Backend, result: () => T) => T): RenewalBackend & { renewal: FakeRenewal } {
  const r: FakeRenewal = {
    companies: {
      [RENEWAL.registeredPadded]: {
        password: RENEWAL.password,
        business_name: 'ACME S.r.l.',
        email_masked: 'c***@example.com',
        mailboxes: [renewableBox('amministrazione@pec.acme-srl.test', 'ACME S.r.l.', '2026-12-01')],
      },
      [RENEWAL.newPadded]: {
        password: null,
        business_name: 'ACME Servizi S.r.l.',
        email_masked: 'c***@example.com',
        mailboxes: [renewableBox('fatture@pec.acme-srl.test', 'ACME Servizi S.r.l.', '2026-12-01')],
      },
    },
    captchas: {},
    registrations: {},
    signedIn: null,
    orders: {},
    keys: {},
    replies: {},
    attempts: [],
    charges: [],
    outbox: [],
    sms: [],
  };

  function normalise(input: string): string {
    const s = input.replace(/\s+/g, '').toUpperCase();
    if (/^\d{11}$/.test(s)) return s.padStart(16, '0');
    if (s.length === 16) return s;
    throw renewalError(
      'tax_code.length',
      `Il codice fiscale ha 16 caratteri (persone) o 11 cifre (imprese), questo ne ha ${s.length}.`,
      `A codice fiscale has 16 characters (persons) or 11 digits (companies), this one has ${s.length}.`,
    );
  }

  function company() {
    const c = r.signedIn ? r.companies[r.signedIn] : undefined;
    if (!c) throw renewalError('auth.unauthorized', 'Sessione assente o scaduta: accedi di nuovo.', 'No session or session expired: sign in again.');
    return c;
  }

  function registration(id: string) {
    const reg = r.registrations[id];
    if (!reg) throw renewalError('not_found', 'Registrazione non trovata.', 'Registration not found.');
    return reg;
  }

  function view(reg: FakeRenewal['registrations'][string]): RenewalRegistration {
    const { password: _p, ...rest } = reg;
    return structuredClone(rest);
  }

  function complete(reg: FakeRenewal['registrations'][string], verified: boolean) {
    reg.step = 'completed';
    reg.mobile_verified = verified;
    const c = r.companies[reg.tax_code];
    if (c) c.password = reg.password;
    r.signedIn = reg.tax_code;
  }

  function pay(order: RenewalOrder): RenewalOrder {
    order.state = 'paid';
    order.paid_at = `${RENEWAL.today}T10:00:00Z`;
    order.new_expires_on = RENEWAL.renewedUntil;
    r.charges.push({ order: order.id, amount_cents: order.price.total_cents });
    for (const b of Object.values(r.companies).flatMap((c) => c.mailboxes)) {
      if (b.address === order.mailbox) b.expiry = { ...b.expiry, expires_on: RENEWAL.renewedUntil, status: 'active', days_to_expiry: 365 };
    }
    const c = r.companies[order.tax_code];
    r.outbox.push({ to: c?.email_masked ?? '', subject: 'Conferma rinnovo PEC' }, { to: order.mailbox, subject: 'Conferma rinnovo PEC' });
    return order;
  }

  return {
    renewal: r,
    async renewalLookup(taxCode: string) {
      return answer('renewalLookup', () => {
        const tax_code = normalise(taxCode);
        const c = r.companies[tax_code];
        return {
          tax_code,
          registered: c?.password != null,
          ...(c ? { business_name: c.business_name, activation_email_masked: c.email_masked } : {}),
        };
      });
    },
    async renewalCaptcha() {
      return answer('renewalCaptcha', () => {
        const id = `cap-${Object.keys(r.captchas).length + 1}`;
        r.captchas[id] = { answer: String(10000 + Object.keys(r.captchas).length), used: false };
        return { id, expires_at: '2026-11-22T10:05:00Z', png_base64: FAKE_PNG };
      });
    },
    async renewalRegister(f) {
      return answer('renewalRegister', () => {
        const cap = r.captchas[f.captchaId];
        if (!cap || cap.used) throw renewalError('captcha.expired', 'Il codice captcha è scaduto o già usato: caricane uno nuovo.', 'The captcha expired or was already used: load a new one.');
        cap.used = true;
        if (cap.answer !== f.captchaAnswer.trim()) throw renewalError('captcha.wrong', 'Il codice captcha non è corretto: riprova con una nuova immagine.', 'The captcha code is wrong: try again with a new image.');
        const tax_code = normalise(f.taxCode);
        const c = r.companies[tax_code];
        if (!c) throw renewalError('renewal.no_mailboxes', 'Nessuna casella PEC risulta intestata a questo codice fiscale.', 'No PEC mailbox is registered to this codice fiscale.');
        if (c.password != null) throw renewalError('renewal.already_registered', 'L’azienda è già registrata: accedi con le tue credenziali.', 'The company is already registered: sign in with its credentials.');
        const id = `reg-${Object.keys(r.registrations).length + 1}`;
        r.registrations[id] = { id, tax_code, email: f.email.trim().toLowerCase(), mobile: f.mobile, step: 'awaiting_email_code', mobile_verified: false, password: f.password };
        r.outbox.push({ to: f.email, subject: 'Codice di verifica registrazione' });
        return view(r.registrations[id]!);
      });
    },
    async renewalVerifyEmail(id: string, code: string) {
      return answer('renewalVerifyEmail', () => {
        const reg = registration(id);
        if (code.trim() !== RENEWAL.emailCode) throw renewalError('verification.code_invalid', 'Codice di verifica errato.', 'Wrong verification code.');
        reg.step = 'awaiting_sms_code';
        r.sms.push({ to: reg.mobile, body: `Codice di verifica cellulare: ${RENEWAL.smsCode}` });
        return view(reg);
      });
    },
    async renewalVerifySms(id: string, code: string) {
      return answer('renewalVerifySms', () => {
        const reg = registration(id);
        if (code.trim() !== RENEWAL.smsCode) throw renewalError('verification.code_invalid', 'Codice di verifica errato.', 'Wrong verification code.');
        complete(reg, true);
        return view(reg);
      });
    },
    async renewalSkipSms(id: string) {
      return answer('renewalSkipSms', () => {
        const reg = registration(id);
        complete(reg, false);
        return view(reg);
      });
    },
    async renewalSignIn(taxCode: string, password: string) {
      return answer('renewalSignIn', () => {
        const tax_code = normalise(taxCode);
        const c = r.companies[tax_code];
        if (!c || c.password == null || c.password !== password) throw renewalError('auth.invalid_credentials', 'Credenziali non valide.', 'Invalid credentials.');
        r.signedIn = tax_code;
      });
    },
    async renewalClose() {
      return answer('renewalClose', () => {
        r.signedIn = null;
      });
    },
    async renewalMailboxes() {
      return answer('renewalMailboxes', () => structuredClone(company().mailboxes));
    },
    async renewalCreateOrder(mailbox: string, legal_representative: PersonData, payment_method: PaymentMethod) {
      return answer('renewalCreateOrder', () => {
        const c = company();
        if (!c.mailboxes.some((b) => b.address === mailbox)) throw renewalError('not_found', 'Casella non trovata.', 'Mailbox not found.');
        if (payment_method.kind === 'phone_line' && payment_method.line_number.replace(/\D/g, '') !== RENEWAL.phoneLine) {
          throw renewalError('renewal.line_not_owned', 'La linea fissa indicata non risulta intestata all’azienda.', 'The landline given is not held by the company.');
        }
        const id = `ord-${Object.keys(r.orders).length + 1}`;
        const order: RenewalOrder = {
          id,
          mailbox,
          tax_code: r.signedIn!,
          legal_representative: { ...legal_representative, tax_code: legal_representative.tax_code.toUpperCase() },
          payment_method,
          price: renewalPrice(),
          state: 'awaiting_payment',
        };
        r.orders[id] = order;
        return structuredClone(order);
      });
    },
    async renewalOrder(id: string) {
      return answer('renewalOrder', () => {
        company();
        const o = r.orders[id];
        if (!o) throw renewalError('not_found', 'Ordine non trovato.', 'Order not found.');
        return structuredClone(o);
      });
    },
    async renewalPay(orderId: string, payment: { card?: CardInput; walletAccount?: string }) {
      return answer('renewalPay', () => {
        company();
        const order = r.orders[orderId];
        if (!order) throw renewalError('not_found', 'Ordine non trovato.', 'Order not found.');
        // Rust: one key per order payment, kept until an answer says what happened.
        const key = (r.keys[orderId] ??= `key-${orderId}-${r.attempts.length + 1}`);
        const number = payment.card?.number.replace(/\D/g, '') ?? null;
        const last4 = number ? number.slice(-4) : null;
        const stored = r.replies[key];
        if (stored) {
          r.attempts.push({ order: orderId, key, last4, outcome: 'replayed' });
          delete r.keys[orderId];
          return structuredClone(stored);
        }
        if (order.state === 'paid') {
          // The portal says "already paid"; Rust looks at the order and answers it.
          delete r.keys[orderId];
          return structuredClone(order);
        }
        if (order.payment_method.kind === 'card') {
          if (!number || number.length < 12) throw renewalError('payment.card_invalid', 'I dati della carta non sono validi.', 'The card details are not valid.');
          if (number === RENEWAL.cardDeclined) {
            r.attempts.push({ order: orderId, key, last4, outcome: 'declined' });
            delete r.keys[orderId];
            throw renewalError('payment.declined', 'Pagamento rifiutato dal circuito: nessun addebito. Prova con un’altra carta.', 'Payment declined by the card network: nothing was charged. Try another card.');
          }
          if (number === RENEWAL.cardTimeout) {
            // Charged, but the answer is lost: the portal keeps the result under the key.
            r.attempts.push({ order: orderId, key, last4, outcome: 'timed_out' });
            r.replies[key] = structuredClone(pay(order));
            throw renewalError('payment.gateway_timeout', 'Il circuito di pagamento non ha risposto in tempo. Riprova.', 'The payment network did not answer in time. Try again.');
          }
        } else if (order.payment_method.kind === 'wallet' && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(payment.walletAccount ?? '')) {
          throw renewalError('email.invalid', 'Indirizzo e-mail non valido.', 'Invalid e-mail address.');
        }
        r.attempts.push({ order: orderId, key, last4, outcome: 'succeeded' });
        r.replies[key] = structuredClone(pay(order));
        delete r.keys[orderId];
        return structuredClone(order);
      });
    },
  };
}
