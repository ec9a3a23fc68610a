// UI text, Italian first. `Messages` is derived from the Italian table, so a key missing
// from the English one is a type error caught by svelte-check.
import type { Language } from './backend';

const it = {
  appName: 'PEC Desktop',
  skipToContent: 'Vai al contenuto principale',
  languageLabel: 'Lingua',
  languageItalian: 'Italiano',
  languageEnglish: 'English',
  homeTitle: 'Benvenuto in PEC Desktop',
  homeIntro:
    'Adegua la tua casella PEC agli standard europei, aggiorna l’indirizzo PEC comunicato ai registri pubblici e rinnova la casella prima che venga cessata.',
  tasksHeading: 'Cosa puoi fare',
  taskIdentityTitle: 'Conferma identità',
  taskIdentityBody:
    'Conferma l’identità del titolare con SPID, CIE, CNS, firma digitale, firma remota o webcam, poi attiva la verifica in due passaggi.',
  taskChangeTitle: 'Cambio PEC registrata',
  taskChangeBody:
    'Comunica il nuovo indirizzo PEC a un registro e conferma il link entro le ore 24 del giorno successivo.',
  taskRenewTitle: 'Rinnovo casella',
  taskRenewBody:
    'Rinnova la casella prima della scadenza e salva i messaggi se decidi di non rinnovarla.',
  comingSoon: 'Disponibile a breve',
  footerVersion: 'Versione',
  footerLogs: 'Registro diagnostico',
  loading: 'Caricamento…',
  errorTitle: 'Si è verificato un problema',
} as const;

export type MessageKey = keyof typeof it;
export type Messages = { readonly [K in MessageKey]: string };

const en: Messages = {
  appName: 'PEC Desktop',
  skipToContent: 'Skip to main content',
  languageLabel: 'Language',
  languageItalian: 'Italiano',
  languageEnglish: 'English',
  homeTitle: 'Welcome to PEC Desktop',
  homeIntro:
    'Bring your PEC mailbox up to the European standard, update the PEC address registered with public registries, and renew the mailbox before it is ceased.',
  tasksHeading: 'What you can do',
  taskIdentityTitle: 'Confirm identity',
  taskIdentityBody:
    'Confirm the holder’s identity with SPID, CIE, CNS, a digital-signature card, remote signature or a webcam call, then turn on two-step login.',
  taskChangeTitle: 'Change registered PEC',
  taskChangeBody:
    'Tell a registry your new PEC address and confirm the link by 24:00 of the following day.',
  taskRenewTitle: 'Renew mailbox',
  taskRenewBody: 'Renew the mailbox before it expires, and save your messages if you decide not to.',
  comingSoon: 'Coming soon',
  footerVersion: 'Version',
  footerLogs: 'Diagnostic log',
  loading: 'Loading…',
  errorTitle: 'Something went wrong',
};

export const messages: Readonly<Record<Language, Messages>> = { it, en };

export const languages: readonly Language[] = ['it', 'en'];
