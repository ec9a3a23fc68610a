import { describe, expect, test } from 'vitest';
import { fmt, messages } from './i18n';
import { render } from './i18n-format';
import { formatMinutes, formatSize } from './labels';

describe('messages', () => {
  test('plural forms follow the language’s rules', () => {
    expect(fmt(messages.it, 'otpRemaining', { s: 1 })).toBe('Il codice scade tra 1 secondo.');
    expect(fmt(messages.it, 'otpRemaining', { s: 2 })).toBe('Il codice scade tra 2 secondi.');
    expect(fmt(messages.it, 'expiryDays', { days: 1 })).toBe('Scade tra 1 giorno');
    expect(fmt(messages.en, 'expiryDays', { days: 0 })).toBe('Expires in 0 days');
    expect(fmt(messages.en, 'otpAttempts', { n: 1 })).toBe('1 attempt left');
  });

  test('numbers are written the language’s way', () => {
    // CLDR's Italian groups from five digits on (1234, 12.345).
    expect(fmt(messages.it, 'backupPhaseSaving', { done: 12345, total: 50000 })).toBe('Salvataggio dei messaggi: 12.345 di 50.000');
    expect(fmt(messages.en, 'backupPhaseSaving', { done: 1234, total: 50000 })).toBe('Saving messages: 1,234 of 50,000');
    expect(formatSize(2048, 'it')).toBe('2 kB');
    // CLDR versions differ on the short English unit ("min", "mins").
    expect(formatMinutes(30, 'en')).toMatch(/^30 mins?$/);
  });

  test('a placeholder without a value stays visible rather than vanishing', () => {
    expect(render('it-IT', 'a {x} b', {})).toBe('a {x} b');
  });

  test('both tables have the same keys and the same placeholders', () => {
    const names = (s: unknown) => JSON.stringify(s).match(/\{\w+\}/g)?.sort() ?? [];
    for (const key of Object.keys(messages.it) as (keyof typeof messages.it)[]) {
      expect(names(messages.en[key]), key).toEqual(names(messages.it[key]));
    }
  });
});
