// The identity wizard's state. The provider keeps the request and its step; this keeps what
// the user is typing (saved as a draft on disk, never a secret), sends each answer, and
// times the OTP. Step components read it with `useWizard()`.
import { getContext, setContext, tick } from 'svelte';
import type {
  BackendError,
  ContactData,
  FieldKind,
  HolderData,
  HolderKind,
  IdentityAction,
  IdentityRequest,
  Link,
  Mailbox,
  Method,
  Step,
} from '../backend';
import type { AppContext } from '../context.svelte';
import { readBytes } from '../files';

const KEY = Symbol('wizard');

export type FieldSpec = { key: string; label: string; kind: FieldKind; required: boolean; autocomplete?: string };

/** The main path, for "Passo n di N"; side pages (outcomes, delegation) show no number. */
export const MAIN_PATH: readonly Step[] = [
  'choosing_role',
  'choosing_holder_kind',
  'entering_data',
  'summary',
  'choosing_method',
  'identifying',
  'identified',
  'accepting_terms',
  'otp_sent',
  'completed',
];

export class WizardState {
  request = $state<IdentityRequest | null>(null);
  error = $state<BackendError | null>(null);
  notice = $state<string | null>(null);
  busy = $state(false);
  guide = $state<Link | null>(null);
  fields = $state<Record<string, string>>({});
  fieldErrors = $state<Record<string, string>>({});
  role = $state<'holder_or_legal_representative' | 'other' | ''>('');
  kind = $state<HolderKind | ''>('');
  terms = $state({ service_conditions: false, contract_information: false });
  otp = $state('');
  otpRefused = $state(false);
  uploading = $state(false);
  now = $state(Date.now());
  private receivedAt = Date.now();
  private saveTimer: ReturnType<typeof setTimeout> | undefined;

  readonly step = $derived(this.request?.step ?? null);
  readonly stepNumber = $derived.by(() => {
    const i = this.step ? MAIN_PATH.indexOf(this.step) : -1;
    return i >= 0 ? i + 1 : null;
  });
  readonly otpLeft = $derived(this.secondsLeft(this.request?.otp_expires_at));
  readonly resendLeft = $derived(this.secondsLeft(this.request?.resend_available_at));
  /** The codice fiscale the card must carry: the legal representative's, else the holder's. */
  readonly declaredTaxCode = $derived.by(() => {
    const h = this.request?.draft?.holder;
    if (!h) return null;
    if (h.kind === 'company') return h.legal_representative?.tax_code ?? null;
    return h.tax_code;
  });

  constructor(
    readonly app: AppContext,
    readonly mailbox: Mailbox,
    readonly resume: Record<string, string> | null,
    private readonly onchanged: () => void,
  ) {}

  async start() {
    if (this.resume) this.fields = { ...this.resume };
    await this.run(() => this.app.backend.identityStart(this.mailbox.address));
    if (this.request) this.prefill(this.request);
  }

  tickClock() {
    this.now = Date.now();
  }

  stop() {
    clearTimeout(this.saveTimer);
  }

  private prefill(r: IdentityRequest) {
    const d = r.draft;
    if (r.holder_kind) this.kind = r.holder_kind;
    if (!d) return;
    const h = d.holder;
    const fromServer: Record<string, string> = { email: d.contact.email, mobile: d.contact.mobile ?? '' };
    if (h.kind === 'company') {
      Object.assign(fromServer, {
        business_name: h.business_name,
        tax_code: h.tax_code,
        rep_first_name: h.legal_representative?.first_name ?? '',
        rep_last_name: h.legal_representative?.last_name ?? '',
        rep_tax_code: h.legal_representative?.tax_code ?? '',
      });
    } else if (h.kind === 'professional') {
      Object.assign(fromServer, { name: h.name, tax_code: h.tax_code, vat_number: h.vat_number ?? '' });
    } else {
      Object.assign(fromServer, { first_name: h.first_name, last_name: h.last_name, tax_code: h.tax_code });
    }
    // What the user typed and did not send yet wins over what the provider has.
    this.fields = { ...fromServer, ...this.fields };
  }

  fail(cause: unknown) {
    this.error = this.app.fail(cause) ?? this.error;
  }

  /** Runs a call that answers with the request, and moves focus to the new page's heading. */
  async run(call: () => Promise<IdentityRequest>) {
    this.busy = true;
    this.notice = null;
    try {
      const before = this.request?.step;
      this.request = await call();
      this.receivedAt = Date.now();
      this.now = this.receivedAt;
      this.error = null;
      // The new page's heading takes the focus in the same turn as the page appears, before
      // the draft is saved: a keyboard user who is already tabbing through the new page must
      // not have the focus pulled back once the save answers.
      if (before !== this.request.step) {
        if (this.request.step === 'completed' || this.request.step === 'checks_in_progress') this.onchanged();
        await tick();
        document.getElementById('wizard-heading')?.focus();
      }
      await this.saveDraft();
    } catch (cause) {
      this.fail(cause);
    } finally {
      this.busy = false;
    }
  }

  act(action: IdentityAction): Promise<void> {
    const request = this.request;
    if (!request) return Promise.resolve();
    return this.run(() => this.app.backend.identityAct(request.id, action));
  }

  fieldsChanged = () => {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.saveDraft(), 400);
  };

  private async saveDraft() {
    const request = this.request;
    if (!request) return;
    try {
      if (request.step === 'completed' || request.step === 'delegation_link_sent') {
        await this.app.backend.draftClear();
      } else {
        const kept: Record<string, string> = {};
        for (const [k, v] of Object.entries(this.fields)) if (v) kept[k] = v;
        if (this.kind) kept.kind = this.kind;
        await this.app.backend.draftSave({ mailbox: this.mailbox.address, request_id: request.id, fields: kept, saved_at: null });
      }
    } catch {
      // A draft that cannot be written costs only the resume after a restart.
    }
  }

  /** Checks one field with the provider's rules (`field_validate`); normalises it when valid. */
  async check(spec: FieldSpec): Promise<boolean> {
    const m = this.app.m;
    const value = (this.fields[spec.key] ?? '').trim();
    if (!value) {
      this.fieldErrors = { ...this.fieldErrors, [spec.key]: spec.required ? m.requiredField : '' };
      return !spec.required;
    }
    try {
      const r = await this.app.backend.fieldValidate(spec.kind, value);
      if (r.valid) {
        if (r.normalized && spec.kind !== 'name') this.fields = { ...this.fields, [spec.key]: r.normalized };
        this.fieldErrors = { ...this.fieldErrors, [spec.key]: '' };
        return true;
      }
      this.fieldErrors = { ...this.fieldErrors, [spec.key]: r.error ? r.error[`message_${this.app.lang}`] : m.requiredField };
      return false;
    } catch (cause) {
      this.fail(cause);
      return false;
    }
  }

  /** Sends the holder's and contact data once every field passes its check. */
  async submitData(specs: FieldSpec[]) {
    const results = await Promise.all(specs.map((s) => this.check(s)));
    if (results.includes(false)) {
      this.error = null;
      this.notice = this.app.m.fixErrors;
      await tick();
      const first = specs.find((f) => this.fieldErrors[f.key]);
      if (first) document.getElementById(`f-${first.key}`)?.focus();
      return;
    }
    const f = (k: string) => (this.fields[k] ?? '').trim();
    let holder: HolderData;
    if (this.kind === 'company') {
      holder = {
        kind: 'company',
        business_name: f('business_name'),
        tax_code: f('tax_code'),
        legal_representative: { first_name: f('rep_first_name'), last_name: f('rep_last_name'), tax_code: f('rep_tax_code') },
      };
    } else if (this.kind === 'professional') {
      holder = { kind: 'professional', name: f('name'), tax_code: f('tax_code'), vat_number: f('vat_number') || null };
    } else {
      holder = { kind: 'private_citizen', first_name: f('first_name'), last_name: f('last_name'), tax_code: f('tax_code') };
    }
    const contact: ContactData = { email: f('email'), mobile: f('mobile') || null };
    await this.act({ type: 'submit_data', holder, contact });
  }

  // Counted from the provider's own times (deadline minus its `updated_at`) and the local time
  // since the answer arrived, so a clock difference between computer and provider doesn't matter.
  private secondsLeft(until: string | null | undefined): number {
    if (!until || !this.request) return 0;
    const total = Date.parse(until) - Date.parse(this.request.updated_at);
    if (Number.isNaN(total)) return 0;
    return Math.max(0, Math.ceil((total - (this.now - this.receivedAt)) / 1000));
  }

  async confirmOtp() {
    const code = this.otp.trim();
    this.otp = '';
    if (!code) {
      this.notice = this.app.m.requiredField;
      return;
    }
    await this.act({ type: 'confirm_otp', code });
    // After a refused code the provider decides whether a new one may be sent: it may count
    // time differently from this computer (and says so if it is too soon).
    if (this.error) this.otpRefused = true;
  }

  async resendOtp() {
    this.otpRefused = false;
    await this.act({ type: 'resend_otp' });
    if (!this.error) this.notice = this.app.m.otpSentAgain;
  }

  async upload(file: File) {
    const request = this.request;
    if (!request) return;
    this.uploading = true;
    try {
      const bytes = await readBytes(file);
      await this.run(() => this.app.backend.identityUpload(request.id, file.name, bytes));
    } finally {
      this.uploading = false;
    }
  }

  async showGuide() {
    try {
      this.guide = await this.app.backend.identityGuideLink(this.app.lang);
    } catch (cause) {
      this.fail(cause);
    }
  }

  chooseMethod(method: Method) {
    this.fields = { ...this.fields, method };
    void this.act({ type: 'choose_method', method });
  }
}

export function provideWizard(state: WizardState): WizardState {
  return setContext(KEY, state);
}

export function useWizard(): WizardState {
  const state = getContext<WizardState | undefined>(KEY);
  if (!state) throw new Error('useWizard() outside the wizard');
  return state;
}
