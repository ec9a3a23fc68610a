// IPC of the registry screens (change of the PEC on record, support tickets) and of the
// mailbox expiry. Kept apart from backend.ts so each flow's calls and types read together;
// `Backend` extends `RegistryApi`.
import { call, type ExpiryView } from './backend';

/** A link's deadline: until 24:00 Europe/Rome of the day after the PEC was received. */
export interface LinkDeadline {
  received_at: string;
  /** The last Italian calendar day (YYYY-MM-DD) on which the link works. */
  valid_through: string;
  /** The first instant at which it no longer works. */
  expires_at: string;
}

export type PecChangeState = 'pending' | 'confirmed' | 'expired' | 'superseded';

export interface PecChange {
  id: string;
  old_pec: string;
  new_pec: string;
  state: PecChangeState;
  state_label_it: string;
  deadline: LinkDeadline;
  confirmed_at?: string;
  notice_it: string;
  notice_en: string;
}

export interface RegistrationRecord {
  username: string;
  last_name: string;
  first_name: string;
  phone?: string;
  mobile?: string;
  fax?: string;
  email: string;
  pec: string;
  pending_change?: PecChange;
}

export interface RegistryView {
  record: RegistrationRecord;
  /** Newest first. */
  changes: PecChange[];
}

export const SUPPORT_CATEGORIES = [
  'registration',
  'private_area',
  'proceedings',
  'personal_data_change',
  'exams',
  'lists_and_registers',
  'other',
] as const;
export type SupportCategory = (typeof SUPPORT_CATEGORIES)[number];

export const SUPPORT_TOPICS = ['services_unavailable', 'account_locked', 'pec_change', 'software_problem'] as const;
export type SupportTopic = (typeof SUPPORT_TOPICS)[number];

export interface PecChangeQuestionnaire {
  reason: string;
  first_name: string;
  last_name: string;
  tax_code: string;
  phone: string;
  new_pec: string;
}

export interface SupportTicketRequest {
  category: SupportCategory;
  topic: SupportTopic;
  private_area_access: boolean;
  questionnaire?: PecChangeQuestionnaire;
  description?: string;
}

export type SupportTicketState = 'awaiting_document' | 'in_review' | 'resolved' | 'rejected';

export interface SupportTicket {
  number: string;
  category: SupportCategory;
  topic: SupportTopic;
  state: SupportTicketState;
  state_label_it: string;
  document?: { filename: string; media_type: string; size: number };
  created_at: string;
  updated_at: string;
  notice_it: string;
  notice_en: string;
}

/** The expiry of one mailbox of the account (`ExpiryView`: computed by the provider with its
 *  own windows). */
export interface MailboxExpiryEntry {
  address: string;
  expiry: ExpiryView;
}

export interface RegistryApi {
  /** Signs in to the registry's private area (its own credentials, not the PEC's). */
  registrySignIn(username: string, password: string): Promise<RegistryView>;
  registryView(): Promise<RegistryView>;
  registrySignOut(): Promise<void>;
  /** "Invia dati": the link goes to the new PEC. */
  registryRequestChange(newPec: string, confirmNewPec: string): Promise<RegistryView>;
  /** Confirms with the link received at the new PEC, pasted by the user. */
  registryConfirmLink(link: string): Promise<PecChange>;
  /** Opens a support ticket; its follow-up secret stays in Rust. */
  supportOpen(request: SupportTicketRequest): Promise<SupportTicket>;
  supportTicket(number: string): Promise<SupportTicket>;
  supportAttach(number: string, filename: string, bytes: Uint8Array): Promise<SupportTicket>;
  /** Expiry of every mailbox of the account, in one provider call. */
  mailboxExpiries(): Promise<MailboxExpiryEntry[]>;
}

export const registryCalls: RegistryApi = {
  registrySignIn: (username, password) => call<RegistryView>('registry_sign_in', { username, password }),
  registryView: () => call<RegistryView>('registry_view'),
  registrySignOut: () => call<void>('registry_sign_out'),
  registryRequestChange: (newPec, confirmNewPec) =>
    call<RegistryView>('registry_request_change', { newPec, confirmNewPec }),
  registryConfirmLink: (link) => call<PecChange>('registry_confirm_link', { link }),
  supportOpen: (request) => call<SupportTicket>('support_open', { request }),
  supportTicket: (number) => call<SupportTicket>('support_ticket', { number }),
  supportAttach: (number, filename, bytes) =>
    call<SupportTicket>('support_attach', bytes, {
      headers: { 'x-ticket': number, 'x-filename': encodeURIComponent(filename) },
    }),
  mailboxExpiries: () => call<MailboxExpiryEntry[]>('mailbox_expiries'),
};
