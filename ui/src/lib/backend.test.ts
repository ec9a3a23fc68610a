import { afterEach, describe, expect, test } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { BackendError, tauriBackend, toBackendError } from './backend';

afterEach(() => clearMocks());

describe('tauriBackend', () => {
  test('calls the Rust commands by name with their arguments', async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'set_language') return { language: 'en' };
      if (cmd === 'get_settings') return { language: 'it' };
      return undefined;
    });
    await expect(tauriBackend.getSettings()).resolves.toEqual({ language: 'it' });
    await expect(tauriBackend.setLanguage('en')).resolves.toEqual({ language: 'en' });
    expect(seen.map(([cmd]) => cmd)).toEqual(['get_settings', 'set_language']);
    expect(seen[1]?.[1]).toMatchObject({ language: 'en' });
  });

  test('session commands: names and argument keys as Tauri expects them', async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'sign_in' || cmd === 'sign_in_demo') return { account_id: 'acc-demo-mario' };
      if (cmd === 'restore_session') return null;
      if (cmd === 'list_mailboxes' || cmd === 'list_notifications') return [];
      return undefined;
    });
    await expect(tauriBackend.signIn('a@pec.it', 'pw')).resolves.toEqual({ account_id: 'acc-demo-mario' });
    await tauriBackend.signInDemo('acc-demo-mario');
    await expect(tauriBackend.restoreSession()).resolves.toBeNull();
    await tauriBackend.listMailboxes();
    await tauriBackend.listNotifications();
    await tauriBackend.markNotificationRead('banner:x');
    await tauriBackend.signOut();
    expect(seen.map(([cmd]) => cmd)).toEqual([
      'sign_in',
      'sign_in_demo',
      'restore_session',
      'list_mailboxes',
      'list_notifications',
      'mark_notification_read',
      'sign_out',
    ]);
    expect(seen[0]?.[1]).toMatchObject({ login: 'a@pec.it', password: 'pw', totpCode: null });
    expect(seen[1]?.[1]).toMatchObject({ login: 'acc-demo-mario' });
    expect(seen[5]?.[1]).toMatchObject({ id: 'banner:x' });
  });

  test('turns a Rust error payload into a BackendError with both messages', async () => {
    mockIPC(() => {
      throw { code: 'settings.save_failed', message_it: 'Salvataggio non riuscito', message_en: 'Save failed' };
    });
    const error = await tauriBackend.setLanguage('en').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).code).toBe('settings.save_failed');
    expect((error as BackendError).localized('it')).toBe('Salvataggio non riuscito');
    expect((error as BackendError).localized('en')).toBe('Save failed');
  });
});

describe('toBackendError', () => {
  test('wraps anything else without losing the cause', () => {
    const error = toBackendError('invalid args `language`');
    expect(error.code).toBe('ipc.unexpected');
    expect(error.localized('it')).toContain('invalid args `language`');
  });
});
