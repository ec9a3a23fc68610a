// UI text of the desktop habits: copy buttons, support links and
// "Esporta diagnostica". Italian first. Spread into the tables of i18n.ts.
import type { Texts } from './i18n-format';

export const desktopIt = {
  copy: 'Copia',
  copied: 'Copiato',
  copyAppPassword: 'Copia la password per le app',
  copyAppPasswordDone: 'Password copiata: sarà tolta dagli appunti tra un minuto.',
  copyPracticeNumber: 'Copia il numero di pratica',
  copyPracticeNumberDone: 'Numero di pratica copiato negli appunti.',
  diagnosticsExport: 'Esporta diagnostica',
  diagnosticsHint:
    'Crea un file .zip per l’assistenza con i registri dell’app e i dati dei lettori e delle carte. Non contiene PIN, password, codici o il codice fiscale.',
  diagnosticsSaved: 'Diagnostica salvata in {path}',
} as const;

export const desktopEn: Texts<typeof desktopIt> = {
  copy: 'Copy',
  copied: 'Copied',
  copyAppPassword: 'Copy the app password',
  copyAppPasswordDone: 'Password copied: it will be removed from the clipboard in a minute.',
  copyPracticeNumber: 'Copy the practice number',
  copyPracticeNumberDone: 'Practice number copied to the clipboard.',
  diagnosticsExport: 'Export diagnostics',
  diagnosticsHint:
    'Creates a .zip file for support with the app’s logs and the facts about readers and cards. It contains no PIN, password, code or tax code.',
  diagnosticsSaved: 'Diagnostics saved to {path}',
};
