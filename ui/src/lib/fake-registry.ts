// The registry and expiry part of the fake backend (see fake-backend.ts): an in-memory
// registry with one user, links that expire when a test moves `registryNow` past the deadline,
// and support tickets.
import { BackendError, type Backend, type ExpiryView } from './backend';
import type { PecChange, RegistryApi, RegistryView, SupportTicket } from './registry-backend';

export const FAKE_REGISTRY_USER = 'mario.rossi';
export const FAKE_REGISTRY_PASSWORD = 'Demo-Password-1';
export const FAKE_LINK_BASE = 'http://127.0.0.1:9/registry/v1/pec-confirmations/';

export interface FakeRegistryState {
  registry: RegistryView & { signedIn: boolean };
  /** The registry's clock, in ms; tests move it to expire links. */
  registryNow: number;
  /** Link token → change id, as e-mailed to the new PEC. */
  links: Record<string, string>;
  tickets: Record<string, SupportTicket>;
  expiries: Record<string, ExpiryView>;
}

export function fakeRegistryState(): FakeRegistryState {
  return {
    registry: {
      signedIn: false,
      record: {
        username: FAKE_REGISTRY_USER,
        last_name: 'Rossi',
        first_name: 'Mario',
        phone: '0612345678',
        email: 'mario.rossi@example.com',
        pec: 'mario.rossi@pec.sandbox.test',
      },
      changes: [],
    },
    registryNow: Date.parse('2026-11-21T10:00:00Z'),
    links: {},
    tickets: {},
    expiries: {},
  };
}

function fail(code: string, it: string, en: string): BackendError {
  return new BackendError({ code, message_it: it, message_en: en });
}

/** 24:00 Europe/Rome of the day after `receivedMs` (winter time is enough for the fake). */
function deadlineOf(receivedMs: number) {
  const rome = new Date(receivedMs + 3600_000);
  const day = new Date(Date.UTC(rome.getUTCFullYear(), rome.getUTCMonth(), rome.getUTCDate() + 1));
  const validThrough = day.toISOString().slice(0, 10);
  const expiresAt = new Date(day.getTime() + 24 * 3600_000 - 3600_000).toISOString();
  return { received_at: new Date(receivedMs).toISOString(), valid_through: validThrough, expires_at: expiresAt };
}

export function fakeRegistryCalls(
  state: () => FakeRegistryState,
  answer: <T>(name: keyof Backend, result: () => T) => T,
): RegistryApi {
  const view = (): RegistryView => {
    const s = state();
    if (!s.registry.signedIn) throw fail('portal.not_signed_in', 'Accedi all’area privata.', 'Sign in to the private area.');
    for (const c of s.registry.changes) {
      if (c.state === 'pending' && s.registryNow >= Date.parse(c.deadline.expires_at)) c.state = 'expired';
    }
    const { record, changes } = s.registry;
    return structuredClone({ record: { ...record, pending_change: changes.find((c) => c.state === 'pending') }, changes });
  };
  return {
    async registrySignIn(username, password) {
      return answer('registrySignIn', () => {
        if (username !== FAKE_REGISTRY_USER || password !== FAKE_REGISTRY_PASSWORD) {
          throw fail('registry.invalid_credentials', 'Nome utente o password errati.', 'Wrong user name or password.');
        }
        state().registry.signedIn = true;
        return view();
      });
    },
    async registryView() {
      return answer('registryView', view);
    },
    async registrySignOut() {
      return answer('registrySignOut', () => {
        state().registry.signedIn = false;
      });
    },
    async registryRequestChange(newPec, confirmNewPec) {
      return answer('registryRequestChange', () => {
        const s = state();
        view();
        if (newPec !== confirmNewPec) throw fail('registry.pec_mismatch', 'Le PEC non coincidono.', 'The PECs differ.');
        for (const c of s.registry.changes) if (c.state === 'pending') c.state = 'superseded';
        const id = `pecchg-${s.registry.changes.length + 1}`;
        const change: PecChange = {
          id,
          old_pec: s.registry.record.pec,
          new_pec: newPec,
          state: 'pending',
          state_label_it: 'In attesa di conferma',
          deadline: deadlineOf(s.registryNow),
          notice_it: 'Controlla anche la cartella spam della PEC.',
          notice_en: 'Check the PEC’s spam folder too.',
        };
        s.registry.changes.unshift(change);
        s.links[`token-${id}-0123456789`] = id;
        return view();
      });
    },
    async registryConfirmLink(link) {
      return answer('registryConfirmLink', () => {
        const s = state();
        const token = link.trim().startsWith(FAKE_LINK_BASE) ? link.trim().slice(FAKE_LINK_BASE.length) : '';
        const change = s.registry.changes.find((c) => c.id === s.links[token]);
        if (!change) throw fail('registry.link_invalid', 'Link non valido.', 'Invalid link.');
        if (change.state === 'pending' && s.registryNow >= Date.parse(change.deadline.expires_at)) change.state = 'expired';
        if (change.state === 'expired') {
          throw fail(
            'registry.link_expired',
            'Il link di conferma è scaduto: effettua nuovamente la richiesta di modifica.',
            'The confirmation link has expired: request the change again.',
          );
        }
        change.state = 'confirmed';
        change.confirmed_at = new Date(s.registryNow).toISOString();
        s.registry.record.pec = change.new_pec;
        return structuredClone(change);
      });
    },
    async supportOpen(request) {
      return answer('supportOpen', () => {
        const s = state();
        const number = `OAM-2026-${String(Object.keys(s.tickets).length + 1).padStart(6, '0')}`;
        const now = new Date(s.registryNow).toISOString();
        const ticket: SupportTicket = {
          number,
          category: request.category,
          topic: request.topic,
          state: request.topic === 'pec_change' ? 'awaiting_document' : 'in_review',
          state_label_it: '',
          created_at: now,
          updated_at: now,
          notice_it: 'Allega un documento di riconoscimento in corso di validità.',
          notice_en: 'Attach a valid identity document.',
        };
        s.tickets[number] = ticket;
        return structuredClone(ticket);
      });
    },
    async supportTicket(number) {
      return answer('supportTicket', () => structuredClone(state().tickets[number]!));
    },
    async supportAttach(number, filename, bytes) {
      return answer('supportAttach', () => {
        const t = state().tickets[number]!;
        t.document = { filename, media_type: 'application/pdf', size: bytes.length };
        t.state = 'in_review';
        return structuredClone(t);
      });
    },
    async mailboxExpiries() {
      return answer('mailboxExpiries', () =>
        Object.entries(state().expiries).map(([address, e]) => ({ address, expiry: structuredClone(e) })),
      );
    },
  };
}
