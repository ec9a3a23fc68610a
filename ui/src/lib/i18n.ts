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
  brandOfferedBy: 'Offerto da {name}',
  brandSupport: 'Assistenza',
  brandPhone: 'Telefono',
  brandEmail: 'E-mail',
  brandWeb: 'Sito',
  updateAvailable: 'È disponibile la versione {latest} (pubblicata il {published}); stai usando la {current}.',
  updateNotes: 'Note di rilascio',
  updateDismiss: 'Nascondi l’avviso di aggiornamento',
  loading: 'Caricamento…',
  errorTitle: 'Si è verificato un problema',
  signinHeading: 'Accedi',
  signinIntro: 'Accedi con l’indirizzo PEC (o l’identificativo dell’account) e la password.',
  loginLabel: 'Indirizzo PEC o identificativo account',
  passwordLabel: 'Password',
  totpLabel: 'Codice della verifica in due passaggi',
  signinButton: 'Accedi',
  signingIn: 'Accesso in corso…',
  demoHeading: 'Account dimostrativi',
  demoIntro:
    'Nessun fornitore è configurato: l’app usa il fornitore di prova integrato. Scegli un account dimostrativo per provare ogni funzione senza una casella reale.',
  demoSignIn: 'Accedi come {name}',
  providerLabel: 'Fornitore',
  providerEmbedded: 'fornitore di prova integrato',
  signOut: 'Esci',
  signingOut: 'Uscita in corso…',
  accountLabel: 'Account',
  bellLabel: 'Notifiche',
  bellUnread: 'Notifiche, {count} non lette',
  notificationsHeading: 'Notifiche',
  noNotifications: 'Nessuna notifica.',
  markRead: 'Segna come letta',
  unreadTag: 'Non letta',
  closePanel: 'Chiudi',
  confirmIdentity: 'Conferma identità',
  mailboxesHeading: 'Le tue caselle PEC',
  overviewNav: 'Panoramica',
  overviewHeading: 'Panoramica delle caselle',
  overviewIntro:
    'Sei titolare di più caselle PEC: qui vedi a colpo d’occhio a che punto è la conferma dell’identità di ciascuna.',
  colAddress: 'Casella',
  colHolder: 'Titolare',
  colState: 'Stato',
  colExpires: 'Scadenza',
  colTwoStep: 'Verifica in due passaggi',
  stateToConfirm: 'Da confermare',
  stateChecksInProgress: 'Verifiche in corso',
  stateDocumentsMissing: 'Documenti mancanti',
  stateCompleted: 'Completato',
  helpToConfirm: 'Il riconoscimento non è stato ancora eseguito: conferma l’identità del titolare.',
  helpChecksInProgress:
    'Il riconoscimento è in lavorazione: attendi la conclusione, il cambio di stato ti notificherà l’esito.',
  helpDocumentsMissing:
    'Non è stato possibile verificare i poteri di rappresentanza, oppure la documentazione inviata non è corretta o è incompleta.',
  helpCompleted: 'Il riconoscimento è stato eseguito correttamente. Ora puoi attivare la verifica in due passaggi.',
  starLabel: 'Casella qualificata e identificata (stella europea)',
  holderCompany: 'Impresa / società',
  holderProfessional: 'Professionista / ditta individuale / artigiano',
  holderPrivate: 'Privato cittadino',
  holderKindLabel: 'Tipo di titolare',
  contactLabel: 'Contatto',
  yes: 'Attiva',
  no: 'Non attiva',
  refresh: 'Aggiorna',
  stateCounts: 'Stato delle caselle',
  wizardPending:
    'La procedura guidata di conferma dell’identità per questa casella non è ancora disponibile in questa versione dell’app: per ora completala dalla webmail del tuo fornitore.',
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
  brandOfferedBy: 'Provided by {name}',
  brandSupport: 'Support',
  brandPhone: 'Phone',
  brandEmail: 'E-mail',
  brandWeb: 'Website',
  updateAvailable: 'Version {latest} is available (published {published}); you are using {current}.',
  updateNotes: 'Release notes',
  updateDismiss: 'Hide the update notice',
  loading: 'Loading…',
  errorTitle: 'Something went wrong',
  signinHeading: 'Sign in',
  signinIntro: 'Sign in with your PEC address (or account id) and password.',
  loginLabel: 'PEC address or account id',
  passwordLabel: 'Password',
  totpLabel: 'Two-step login code',
  signinButton: 'Sign in',
  signingIn: 'Signing in…',
  demoHeading: 'Demo accounts',
  demoIntro:
    'No provider is configured, so the app uses its built-in test provider. Pick a demo account to try every feature without a real mailbox.',
  demoSignIn: 'Sign in as {name}',
  providerLabel: 'Provider',
  providerEmbedded: 'built-in test provider',
  signOut: 'Sign out',
  signingOut: 'Signing out…',
  accountLabel: 'Account',
  bellLabel: 'Notifications',
  bellUnread: 'Notifications, {count} unread',
  notificationsHeading: 'Notifications',
  noNotifications: 'No notifications.',
  markRead: 'Mark as read',
  unreadTag: 'Unread',
  closePanel: 'Close',
  confirmIdentity: 'Confirm identity',
  mailboxesHeading: 'Your PEC mailboxes',
  overviewNav: 'Overview',
  overviewHeading: 'Mailbox overview',
  overviewIntro:
    'You hold several PEC mailboxes: here you see at a glance where the identity confirmation of each one stands.',
  colAddress: 'Mailbox',
  colHolder: 'Holder',
  colState: 'State',
  colExpires: 'Expires',
  colTwoStep: 'Two-step login',
  stateToConfirm: 'To be confirmed',
  stateChecksInProgress: 'Checks in progress',
  stateDocumentsMissing: 'Documents missing',
  stateCompleted: 'Completed',
  helpToConfirm: 'The holder has not been identified yet: confirm the holder’s identity.',
  helpChecksInProgress:
    'The identification is being processed: wait for it to end, you will be notified of the outcome.',
  helpDocumentsMissing:
    'The powers of representation could not be verified, or the documents sent are wrong or incomplete.',
  helpCompleted: 'The holder has been identified. You can now turn on two-step login.',
  starLabel: 'Qualified and identified mailbox (European star)',
  holderCompany: 'Company',
  holderProfessional: 'Professional / sole trader / craftsman',
  holderPrivate: 'Private citizen',
  holderKindLabel: 'Holder type',
  contactLabel: 'Contact',
  yes: 'On',
  no: 'Off',
  refresh: 'Refresh',
  stateCounts: 'Mailbox states',
  wizardPending:
    'The guided identity confirmation for this mailbox is not available in this version of the app yet: for now, complete it from your provider’s webmail.',
};

export const messages: Readonly<Record<Language, Messages>> = { it, en };

export const languages: readonly Language[] = ['it', 'en'];

/** Fills `{name}` placeholders of a message. */
export function fmt(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) =>
    key in values ? String(values[key]) : whole,
  );
}
