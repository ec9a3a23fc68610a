// The registry screens' state: the private area's session (kept in Rust), the record and its
// changes, the confirmation link, and the support path for users who cannot sign in.
import { getContext, setContext, tick } from 'svelte';
import {
  toBackendError,
  type BackendError,
  type RegistryView,
  type SupportCategory,
  type SupportTicketView,
  type SupportTopic,
} from '../backend';
import type { AppContext } from '../context.svelte';
import { readBytes } from '../files';
import { fmt } from '../i18n';
import { formatDate } from '../labels';

const KEY = Symbol('registry');

export type Step = 'signin' | 'record' | 'edit' | 'support' | 'ticket';

export class RegistryState {
  step = $state<Step>('signin');
  busy = $state(false);
  error = $state<BackendError | null>(null);
  notice = $state('');
  username = $state('');
  password = $state('');
  view = $state<RegistryView | null>(null);
  newPec = $state('');
  confirmPec = $state('');
  pecError = $state('');
  confirmError = $state('');
  link = $state('');
  /** The last confirmation attempt's link had expired: offer a new request. */
  expiredLink = $state(false);
  category = $state<SupportCategory>('private_area');
  topic = $state<SupportTopic>('pec_change');
  access = $state<'yes' | 'no' | ''>('');
  questionnaire = $state({ reason: '', first_name: '', last_name: '', tax_code: '', phone: '', new_pec: '' });
  description = $state('');
  ticket = $state<SupportTicketView | null>(null);
  uploading = $state(false);

  constructor(readonly app: AppContext) {}

  private get backend() {
    return this.app.backend;
  }

  async go(next: Step) {
    this.step = next;
    await tick();
    document.getElementById('registry-title')?.focus();
  }

  async run(work: () => Promise<void>) {
    this.busy = true;
    this.error = null;
    try {
      await work();
    } catch (cause) {
      this.error = toBackendError(cause);
    } finally {
      this.busy = false;
    }
  }

  signIn() {
    const [u, p] = [this.username, this.password];
    this.password = '';
    return this.run(async () => {
      this.view = await this.backend.registrySignIn(u, p);
      this.notice = '';
      await this.go('record');
    });
  }

  signOut() {
    return this.run(async () => {
      await this.backend.registrySignOut();
      this.view = null;
      this.notice = '';
      await this.go('signin');
    });
  }

  /** The form's checks before anything is sent (the address by the provider's own rule). */
  private async checkPec(): Promise<boolean> {
    const m = this.app.m;
    const a = this.newPec.trim();
    const b = this.confirmPec.trim();
    this.pecError = '';
    if (!a) {
      this.pecError = m.registryPecRequired;
    } else {
      const r = await this.backend.fieldValidate('email', a);
      if (!r.valid) this.pecError = r.error?.[`message_${this.app.lang}`] ?? m.registryPecRequired;
    }
    if (!this.pecError && this.view && a.toLowerCase() === this.view.record.pec.toLowerCase()) this.pecError = m.registryPecSame;
    this.confirmError = !this.pecError && a.toLowerCase() !== b.toLowerCase() ? m.registryPecMismatch : '';
    return !this.pecError && !this.confirmError;
  }

  async sendChange() {
    let ok = false;
    try {
      ok = await this.checkPec();
    } catch (cause) {
      this.error = toBackendError(cause);
      return;
    }
    if (!ok) {
      void tick().then(() => document.getElementById(this.pecError ? 'reg-new-pec' : 'reg-confirm-pec')?.focus());
      return;
    }
    return this.run(async () => {
      const view = await this.backend.registryRequestChange(this.newPec.trim(), this.confirmPec.trim());
      this.view = view;
      const sent = view.changes[0];
      this.notice = sent ? fmt(this.app.m, 'registrySent', { pec: sent.new_pec, day: formatDate(sent.deadline.valid_through, this.app.lang) }) : '';
      this.newPec = '';
      this.confirmPec = '';
      this.expiredLink = false;
      await this.go('record');
    });
  }

  confirmLink() {
    const pasted = this.link;
    return this.run(async () => {
      this.expiredLink = false;
      try {
        const change = await this.backend.registryConfirmLink(pasted);
        this.link = '';
        this.notice = fmt(this.app.m, 'registryConfirmedNotice', { pec: change.new_pec });
      } catch (cause) {
        const e = toBackendError(cause);
        this.expiredLink = e.is('registry.link_expired');
        throw e;
      } finally {
        if (this.view) this.view = await this.backend.registryView().catch(() => this.view);
      }
    });
  }

  openTicket() {
    const pecChange = this.topic === 'pec_change';
    return this.run(async () => {
      this.ticket = await this.backend.supportOpen({
        category: this.category,
        topic: this.topic,
        private_area_access: false,
        questionnaire: pecChange ? { ...this.questionnaire } : null,
        description: pecChange ? null : this.description,
      });
      await this.go('ticket');
    });
  }

  refreshTicket() {
    const ticket = this.ticket;
    if (!ticket) return;
    return this.run(async () => {
      this.ticket = await this.backend.supportTicket(ticket.number);
    });
  }

  async attach(file: File) {
    const ticket = this.ticket;
    if (!ticket) return;
    this.uploading = true;
    try {
      const bytes = await readBytes(file);
      await this.run(async () => {
        this.ticket = await this.backend.supportAttach(ticket.number, file.name, bytes);
      });
    } finally {
      this.uploading = false;
    }
  }
}

export function provideRegistry(state: RegistryState): RegistryState {
  return setContext(KEY, state);
}

export function useRegistry(): RegistryState {
  const state = getContext<RegistryState | undefined>(KEY);
  if (!state) throw new Error('useRegistry() outside the registry');
  return state;
}
