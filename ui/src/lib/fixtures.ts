// Values the component tests script their backend with: wire types as Rust sends them.
import type { ExpiryView, IdentityRequest, Mailbox, Notification, ProviderInfo, Step } from './backend';

export const MARIO = 'mario.rossi@pec.sandbox.test';
export const STUDIO = 'studio.rossi@pec.sandbox.test';

export function mailbox(address: string, over: Partial<Mailbox> = {}): Mailbox {
  return {
    address,
    holder: { kind: 'private_citizen', first_name: 'Mario', last_name: 'Rossi', tax_code: 'RSSMRA45C12F205C' },
    contact: { email: 'mario.rossi@example.com', mobile: null },
    identity_state: 'to_confirm',
    identity_state_label_it: 'Da confermare',
    qualified: false,
    expires_on: '2027-03-31',
    two_step_login: false,
    active_identity_request: null,
    ...over,
  };
}

export function studio(): Mailbox {
  return mailbox(STUDIO, {
    holder: { kind: 'professional', name: 'Studio Rossi', tax_code: 'RSSMRA45C12F205C', vat_number: null },
    identity_state: 'completed',
    identity_state_label_it: 'Completato',
    qualified: true,
  });
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

export const EMBEDDED: ProviderInfo = {
  base_url: 'http://127.0.0.1:9',
  embedded: true,
  demo_accounts: [{ login: 'acc-demo-mario', name: 'Mario Rossi', mailboxes: [MARIO, STUDIO] }],
  last_login: null,
};

/** An identity request at `step` (fields as the provider sets them for it). */
/** The provider's texts at "condizioni di servizio", as the sandbox sends them. */
export const CONDITIONS: NonNullable<IdentityRequest['conditions']> = {
  version: '2026-01',
  service_conditions: {
    title_it: 'Condizioni di servizio',
    title_en: 'Terms of service',
    body_it: 'Il servizio è fornito dal Gestore.\n\nIl titolare custodisce le credenziali.',
    body_en: 'The service is provided by the Provider.\n\nThe holder keeps the credentials safe.',
  },
  contract_information: {
    title_it: 'Informativa contrattuale',
    title_en: 'Contract information',
    body_it: 'I dati personali sono trattati dal Gestore.',
    body_en: 'The personal data are processed by the Provider.',
  },
};

export function request(step: Step, over: Partial<IdentityRequest> = {}): IdentityRequest {
  return {
    id: 'req-1',
    mailbox: MARIO,
    step,
    state: 'to_confirm',
    state_label_it: 'Da confermare',
    outcome: null,
    outcome_label_it: null,
    practice_number: null,
    holder_kind: null,
    draft: null,
    method: null,
    holder_email: null,
    otp_expires_at: null,
    otp_attempts_left: null,
    resend_available_at: null,
    conditions: step === 'accepting_terms' ? CONDITIONS : null,
    documents: [],
    updated_at: '2026-11-22T10:00:00Z',
    ...over,
  };
}

export function expiry(days: number, over: Partial<ExpiryView> = {}): ExpiryView {
  return {
    expires_on: '2027-03-31',
    today: '2026-11-22',
    days_to_expiry: days,
    status: days > 30 ? 'active' : days >= 0 ? 'expiring_soon' : 'expired',
    reminder_from: '2027-03-01',
    renewable_until: '2027-04-30',
    ceases_on: '2027-05-01',
    offer_backup: days < 30,
    ...over,
  };
}
