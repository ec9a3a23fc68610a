// An in-memory Backend for component tests: no Tauri, no IPC. Tests can make any call fail.
import { BackendError, type AppInfo, type Backend, type Language, type Settings } from './backend';

export interface FakeBackend extends Backend {
  settings: Settings;
  calls: string[];
  failNext: Partial<Record<keyof Backend, BackendError>>;
}

export function fakeBackend(initial: Partial<Settings> = {}): FakeBackend {
  const info: AppInfo = { name: 'PEC Desktop', version: '9.9.9', log_dir: '/tmp/pec-logs' };
  const fake: FakeBackend = {
    settings: { language: 'it', ...initial },
    calls: [],
    failNext: {},
    async appInfo() {
      return answer('appInfo', () => info);
    },
    async getSettings() {
      return answer('getSettings', () => ({ ...fake.settings }));
    },
    async setLanguage(language: Language) {
      return answer('setLanguage', () => {
        fake.settings = { ...fake.settings, language };
        return { ...fake.settings };
      });
    },
  };

  function answer<T>(name: keyof Backend, result: () => T): T {
    fake.calls.push(name);
    const failure = fake.failNext[name];
    if (failure) {
      delete fake.failNext[name];
      throw failure;
    }
    return result();
  }

  return fake;
}
