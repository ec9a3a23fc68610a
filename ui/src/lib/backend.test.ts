import { afterEach, describe, expect, test } from 'vitest';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { BackendError, tauriBackend, toBackendError } from './backend';
import { COMMAND_NAMES, commands, type Invoke } from './ipc.generated';

afterEach(() => clearMocks());

describe('tauriBackend', () => {
  test('calls the Rust commands by name with their arguments', async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'settings_set_language') return { language: 'en' };
      if (cmd === 'settings_get') return { language: 'it' };
      return undefined;
    });
    await expect(tauriBackend.settingsGet()).resolves.toEqual({ language: 'it' });
    await expect(tauriBackend.settingsSetLanguage('en')).resolves.toEqual({ language: 'en' });
    expect(seen.map(([cmd]) => cmd)).toEqual(['settings_get', 'settings_set_language']);
    expect(seen[1]?.[1]).toMatchObject({ language: 'en' });
  });

  test('session commands: names and argument keys as Tauri expects them', async () => {
    const seen: Array<[string, unknown]> = [];
    mockIPC((cmd, args) => {
      seen.push([cmd, args]);
      if (cmd === 'session_sign_in' || cmd === 'session_sign_in_demo') return { account_id: 'acc-demo-mario' };
      if (cmd === 'session_restore') return null;
      if (cmd === 'mailbox_list' || cmd === 'notification_list') return [];
      return undefined;
    });
    await expect(tauriBackend.sessionSignIn('a@pec.it', 'pw', null)).resolves.toEqual({ account_id: 'acc-demo-mario' });
    await tauriBackend.sessionSignInDemo('acc-demo-mario');
    await expect(tauriBackend.sessionRestore()).resolves.toBeNull();
    await tauriBackend.mailboxList();
    await tauriBackend.notificationList();
    await tauriBackend.notificationMarkRead('banner:x');
    await tauriBackend.sessionSignOut();
    expect(seen.map(([cmd]) => cmd)).toEqual([
      'session_sign_in',
      'session_sign_in_demo',
      'session_restore',
      'mailbox_list',
      'notification_list',
      'notification_mark_read',
      'session_sign_out',
    ]);
    expect(seen[0]?.[1]).toMatchObject({ login: 'a@pec.it', password: 'pw', totpCode: null });
    expect(seen[1]?.[1]).toMatchObject({ login: 'acc-demo-mario' });
    expect(seen[5]?.[1]).toMatchObject({ id: 'banner:x' });
  });

  test('uploads go as the raw body, their owner and name in headers', async () => {
    // Tauri's mockIPC drops invoke's options (the headers): record the transport itself.
    const seen: Array<[string, unknown, unknown]> = [];
    const record: Invoke = async <T>(cmd: string, args?: unknown, options?: unknown) => {
      seen.push([cmd, args, options]);
      return {} as T;
    };
    const bytes = new Uint8Array([0x25, 0x50, 0x44, 0x46]);
    await commands(record).identityUpload('req-1', 'visura camerale.pdf', bytes);
    expect(seen[0]?.[0]).toBe('identity_upload');
    expect(seen[0]?.[1]).toEqual(bytes);
    expect(seen[0]?.[2]).toMatchObject({ headers: { 'x-request-id': 'req-1', 'x-filename': 'visura%20camerale.pdf' } });
  });

  test('every generated command is one of the listed names', () => {
    const names = new Set<string>(COMMAND_NAMES);
    expect(names.size).toBe(COMMAND_NAMES.length);
    for (const n of COMMAND_NAMES) expect(n).toMatch(/^[a-z]+_[a-z_]+$/);
  });

  test('turns a Rust error payload into a BackendError with both messages', async () => {
    mockIPC(() => {
      throw { code: 'settings.save_failed', message_it: 'Salvataggio non riuscito', message_en: 'Save failed' };
    });
    const error = await tauriBackend.settingsSetLanguage('en').catch((e: unknown) => e);
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
    expect(error.is('ipc.unexpected')).toBe(true);
    expect(error.localized('it')).toContain('invalid args `language`');
  });
});
