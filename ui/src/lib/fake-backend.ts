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
    async appPasswordCreate(_address: string, label: string) {
      return answer('appPasswordCreate', () => {
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
