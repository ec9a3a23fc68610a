// An in-memory Backend for component tests: no Tauri, no IPC. Tests can make any call fail,
// and can let the session expire to see the way back through sign-in.
import {
  BackendError,
  SESSION_EXPIRED,
  type AppInfo,
  type Backend,
  type BrandingView,
  type Language,
  type Mailbox,
  type Notification,
  type ProviderInfo,
  type SessionView,
  type Settings,
  type UpdateNotice,
} from './backend';

export interface FakeBackend extends Backend {
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
  /** The association of a branded build; `null` is the plain build. */
  brand: BrandingView | null;
  /** What the release feed says; `null` is "up to date" (or unreachable). */
  update: UpdateNotice | null;
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
    async branding() {
      return answer('branding', () => (fake.brand ? structuredClone(fake.brand) : null));
    },
    async checkForUpdate() {
      return answer('checkForUpdate', () => (fake.update ? { ...fake.update } : null));
    },
  };

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
