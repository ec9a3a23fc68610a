// Labels of domain values, from the typed message tables, and the formats of dates, sizes and
// durations (always through Intl, in the user's language: no ISO date on a screen).
import type { HolderData, IdentityState, Language, Notification } from './backend';
import type { Messages } from './i18n';

export function stateLabel(m: Messages, state: IdentityState): string {
  switch (state) {
    case 'to_confirm':
      return m.stateToConfirm;
    case 'checks_in_progress':
      return m.stateChecksInProgress;
    case 'documents_missing':
      return m.stateDocumentsMissing;
    case 'completed':
      return m.stateCompleted;
  }
}

export function stateHelp(m: Messages, state: IdentityState): string {
  switch (state) {
    case 'to_confirm':
      return m.helpToConfirm;
    case 'checks_in_progress':
      return m.helpChecksInProgress;
    case 'documents_missing':
      return m.helpDocumentsMissing;
    case 'completed':
      return m.helpCompleted;
  }
}

export function holderName(holder: HolderData): string {
  switch (holder.kind) {
    case 'company':
      return holder.business_name;
    case 'professional':
      return holder.name;
    case 'private_citizen':
      return `${holder.first_name} ${holder.last_name}`;
  }
}

export function holderKind(m: Messages, holder: HolderData): string {
  switch (holder.kind) {
    case 'company':
      return m.holderCompany;
    case 'professional':
      return m.holderProfessional;
    case 'private_citizen':
      return m.holderPrivate;
  }
}

export function notificationTitle(n: Notification, lang: Language): string {
  return lang === 'it' ? n.title_it : n.title_en;
}

export function notificationBody(n: Notification, lang: Language): string {
  return lang === 'it' ? n.body_it : n.body_en;
}

/** A date (YYYY-MM-DD or a timestamp) the way people read it in that language. */
export function formatDate(value: string, lang: Language): string {
  const date = new Date(value.length === 10 ? `${value}T12:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleDateString(locale(lang), {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    timeZone: 'Europe/Rome',
  });
}

/** Date and time in Italian time, or with `zone: 'local'` in this computer's own zone (named). */
export function formatDateTime(value: string, lang: Language, zone: 'rome' | 'local' = 'rome'): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(locale(lang), {
    day: 'numeric',
    month: 'long',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    ...(zone === 'rome' ? { timeZone: 'Europe/Rome' } : { timeZoneName: 'short' }),
  });
}

function locale(lang: Language): string {
  return lang === 'it' ? 'it-IT' : 'en-GB';
}

/** A file size in kilobytes, e.g. "12 kB". */
export function formatSize(bytes: number, lang: Language): string {
  return new Intl.NumberFormat(locale(lang), { style: 'unit', unit: 'kilobyte', maximumFractionDigits: 0 }).format(
    Math.ceil(bytes / 1024),
  );
}

/** A size in megabytes with one decimal, e.g. "12,5 MB" (a mailbox, not a file). */
export function formatMegabytes(bytes: number, lang: Language): string {
  return new Intl.NumberFormat(locale(lang), { style: 'unit', unit: 'megabyte', maximumFractionDigits: 1 }).format(
    bytes / 1_000_000,
  );
}

/** A time left: "meno di un minuto", "12 min", "1 h 5 min". */
export function formatDuration(seconds: number, lang: Language): string {
  if (seconds < 60) return lang === 'it' ? 'meno di un minuto' : 'less than a minute';
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) return formatMinutes(minutes, lang);
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  const h = new Intl.NumberFormat(locale(lang), { style: 'unit', unit: 'hour' }).format(hours);
  return rest ? `${h} ${formatMinutes(rest, lang)}` : h;
}

/** A duration in minutes, e.g. "30 min". */
export function formatMinutes(minutes: number, lang: Language): string {
  return new Intl.NumberFormat(locale(lang), { style: 'unit', unit: 'minute' }).format(minutes);
}

/** A plain number with the language's grouping, e.g. "50.000". */
export function formatNumber(value: number, lang: Language): string {
  return new Intl.NumberFormat(locale(lang)).format(value);
}
