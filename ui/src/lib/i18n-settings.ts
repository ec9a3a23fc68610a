// UI text of the settings screen (reminders, start at login, tray), Italian first. Spread
// into the tables of i18n.ts.
import type { Texts } from './i18n-format';

export const settingsIt = {
  settingsNav: 'Impostazioni',
  settingsHeading: 'Impostazioni',
  settingsRemindersHeading: 'Promemoria',
  settingsRemindersIntro:
    'PEC Desktop ti avvisa con una notifica del sistema di ciò che ha una scadenza. Le date sono quelle del gestore, non dell’orologio di questo computer.',
  settingsMailboxExpiry: 'Scadenza e cessazione delle caselle',
  settingsExpiryDays: 'Giorni di preavviso prima della scadenza',
  settingsExpiryDaysHelp: 'Da 1 a 90 giorni.',
  settingsRegistryDeadline: 'Link di conferma della nuova PEC (scade alle 24:00 del giorno successivo)',
  settingsIdentityOutcome: 'Esito della conferma dell’identità (documenti richiesti, verifiche concluse)',
  settingsBackupFinished: 'Salvataggio dei messaggi completato',
  settingsStartHeading: 'Avvio e area di notifica',
  settingsAutostart: 'Avvia PEC Desktop all’accesso al computer (ridotto a icona)',
  settingsTray: 'Mostra l’icona nell’area di notifica: chiudendo la finestra, l’app resta attiva per i promemoria',
  settingsSave: 'Salva',
  settingsSaving: 'Salvataggio…',
  settingsSaved: 'Impostazioni salvate.',
  settingsNextHeading: 'Prossimi promemoria',
  settingsRecentHeading: 'Promemoria recenti',
  settingsNone: 'Nessuno.',
  settingsOpen: 'Apri',
} as const;

export const settingsEn: Texts<typeof settingsIt> = {
  settingsNav: 'Settings',
  settingsHeading: 'Settings',
  settingsRemindersHeading: 'Reminders',
  settingsRemindersIntro:
    'PEC Desktop tells you with a system notification about what has a deadline. Dates are the provider’s, not this computer’s clock.',
  settingsMailboxExpiry: 'Expiry and cessation of the mailboxes',
  settingsExpiryDays: 'Days of notice before the expiry',
  settingsExpiryDaysHelp: 'From 1 to 90 days.',
  settingsRegistryDeadline: 'Confirmation link of the new PEC (expires at 24:00 of the next day)',
  settingsIdentityOutcome: 'Outcome of the identity confirmation (documents requested, checks finished)',
  settingsBackupFinished: 'Message backup finished',
  settingsStartHeading: 'Start and notification area',
  settingsAutostart: 'Start PEC Desktop when I log in (minimised)',
  settingsTray: 'Show the icon in the notification area: closing the window keeps the app running for reminders',
  settingsSave: 'Save',
  settingsSaving: 'Saving…',
  settingsSaved: 'Settings saved.',
  settingsNextHeading: 'Next reminders',
  settingsRecentHeading: 'Recent reminders',
  settingsNone: 'None.',
  settingsOpen: 'Open',
};
