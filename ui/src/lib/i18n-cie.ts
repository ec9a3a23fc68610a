// UI text of the CIE method (wizard/cie/): the card on the computer's NFC reader, or CieID on
// the phone. Italian first; spread into the tables of i18n.ts.
import type { Texts } from './i18n-format';

export const cieIt = {
  cieHow: 'Come vuoi usare la tua CIE?',
  cieWithReader: 'Con il lettore NFC del computer',
  cieWithReaderNeeds: 'Appoggi la CIE su un lettore contactless collegato al computer e inserisci il PIN di 8 cifre.',
  cieWithPhone: 'Con lo smartphone (app CieID)',
  cieWithPhoneNeeds: 'Nessun lettore: inquadri un codice QR con l’app CieID e appoggi la CIE sul retro del telefono.',
  cieReadersHeading: 'Lettore NFC',
  cieLinkContactless: 'Lettore senza contatto (NFC)',
  cieLinkContact: 'Lettore a contatto',
  cieLinkUnknown: 'Tipo di lettore non riconosciuto',
  cieOnContactless: 'Appoggia la CIE sul lettore e non muoverla.',
  cieOnContact: 'La CIE funziona solo senza contatto: usa un lettore NFC.',
  cieReaderEmpty: 'Nessuna carta: appoggia la CIE sul lettore e non muoverla.',
  cieReaderOther: 'C’è una carta, ma non sembra una CIE.',
  cieChecking: 'Lettura della carta (senza PIN)…',
  cieCard: 'Carta',
  cieNis: 'Numero identificativo per i servizi (NIS)',
  ciePinTries: 'Tentativi del PIN',
  cieIsCie: 'È una CIE: inserisci il PIN per continuare.',
  ciePinLabel: 'PIN della CIE (8 cifre)',
  // Where the halves are, as the Ministry's channels tell holders (assistenza.ioapp.it, "Voglio
  // cambiare il PIN della CIE"; the Comuni's CIE pages): the first 4 digits on the last sheet of
  // the receipt given at the Comune (or consulate), the last 4 in the letter posted with the card.
  ciePinHalves:
    "Il PIN è di 8 cifre in due metà: le prime 4 sono sull'ultimo foglio della ricevuta che ti hanno dato in Comune (o al consolato) quando hai richiesto la carta, le ultime 4 nella lettera arrivata per posta insieme alla CIE.",
  ciePinOnce:
    'Il PIN viene inviato una sola volta alla carta, in un canale cifrato, e non viene mai salvato. Dopo 3 PIN errati la carta si blocca (si sblocca con il PUK).',
  ciePinCount: '{n} di 8 cifre',
  ciePinWhere: 'Dove trovo il PIN?',
  cieLastTryQuestion:
    "È l'ultimo tentativo: se il PIN è sbagliato la CIE si blocca e per sbloccarla servirà il PUK (app CieID o Comune). Continuare?",
  cieStart: 'Conferma con la CIE',
  cieRetry: 'Riprova',
  cieProgress: 'Canale sicuro con la carta in corso: tieni la CIE appoggiata sul lettore, non muoverla.',
  cieLiftedHint: 'Appoggia di nuovo la CIE sul lettore, inserisci il PIN e premi «Riprova».',
  ciePictureAlt: 'Una carta d’identità elettronica appoggiata su un lettore NFC',
  cieIdIntro:
    'Si apre nel browser la pagina «Entra con CIE» del fornitore. Inquadra il codice QR con l’app CieID sullo smartphone e appoggia la CIE sul retro del telefono quando l’app te lo chiede.',
  cieIdButton: 'Entra con CIE',
  cieIdWaiting: 'In attesa della conferma nell’app CieID…',
  cieIdOpen: 'Apri di nuovo la pagina nel browser',
  cieIdLink: 'Pagina di accesso',
  cieIdQr: 'Codice QR da inquadrare con l’app CieID',
  cieIdDenied: 'Accesso con CieID annullato o scaduto: puoi riprovare.',
} as const;

export const cieEn: Texts<typeof cieIt> = {
  cieHow: 'How do you want to use your CIE?',
  cieWithReader: 'With the computer’s NFC reader',
  cieWithReaderNeeds: 'Lay the CIE on a contactless reader connected to the computer and type the 8-digit PIN.',
  cieWithPhone: 'With your smartphone (CieID app)',
  cieWithPhoneNeeds: 'No reader: scan a QR code with the CieID app and hold the CIE against the back of the phone.',
  cieReadersHeading: 'NFC reader',
  cieLinkContactless: 'Contactless (NFC) reader',
  cieLinkContact: 'Contact reader',
  cieLinkUnknown: 'Unrecognised kind of reader',
  cieOnContactless: 'Lay the CIE on the reader and do not move it.',
  cieOnContact: 'The CIE works only without contact: use an NFC reader.',
  cieReaderEmpty: 'No card: lay the CIE on the reader and do not move it.',
  cieReaderOther: 'There is a card, but it does not look like a CIE.',
  cieChecking: 'Reading the card (no PIN)…',
  cieCard: 'Card',
  cieNis: 'Identification number for services (NIS)',
  ciePinTries: 'PIN tries',
  cieIsCie: 'This is a CIE: type the PIN to continue.',
  ciePinLabel: 'CIE PIN (8 digits)',
  ciePinHalves:
    'The PIN has 8 digits in two halves: the first 4 are on the last sheet of the receipt the town hall (or consulate) gave you when you applied for the card, the last 4 in the letter posted to you with the CIE.',
  ciePinOnce:
    'The PIN is sent to the card once, over an encrypted channel, and never stored. After 3 wrong PINs the card locks (the PUK unlocks it).',
  ciePinCount: '{n} of 8 digits',
  ciePinWhere: 'Where do I find the PIN?',
  cieLastTryQuestion:
    'This is the last try: if the PIN is wrong the CIE locks, and unlocking it takes the PUK (CieID app or the town hall). Continue?',
  cieStart: 'Confirm with the CIE',
  cieRetry: 'Try again',
  cieProgress: 'Secure channel with the card in progress: keep the CIE on the reader, do not move it.',
  cieLiftedHint: 'Lay the CIE on the reader again, type the PIN and press “Try again”.',
  ciePictureAlt: 'An electronic identity card lying on an NFC reader',
  cieIdIntro:
    'The provider’s “Entra con CIE” page opens in the browser. Scan the QR code with the CieID app on your smartphone and hold the CIE against the back of the phone when the app asks.',
  cieIdButton: 'Entra con CIE',
  cieIdWaiting: 'Waiting for the confirmation in the CieID app…',
  cieIdOpen: 'Open the page in the browser again',
  cieIdLink: 'Login page',
  cieIdQr: 'QR code to scan with the CieID app',
  cieIdDenied: 'CieID login cancelled or expired: you can try again.',
};
