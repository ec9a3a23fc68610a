// What every screen needs, set once by App.svelte and read with `useApp()`: the backend, the
// language and its messages, and what to do when the session expires. Screens no longer
// thread these through props, and the session-expired rule is written here only.
import { getContext, setContext } from 'svelte';
import { toBackendError, type Backend, type BackendError, type Language } from './backend';
import { messages, type Messages } from './i18n';

const KEY = Symbol('pec-app');

export class AppContext {
  readonly backend: Backend;
  lang = $state<Language>('it');
  readonly m: Messages = $derived(messages[this.lang]);
  /** Called when the provider no longer accepts the session: App shows the sign-in again. */
  private readonly expired: (e: BackendError) => void;

  constructor(backend: Backend, onexpired: (e: BackendError) => void = () => {}, lang: Language = 'it') {
    this.backend = backend;
    this.expired = onexpired;
    this.lang = lang;
  }

  /**
   * The one handler of a failed call: an expired session goes to App (which keeps the screen
   * and asks for the password), anything else is returned for the screen to show.
   */
  fail(cause: unknown): BackendError | null {
    const e = toBackendError(cause);
    if (e.is('session.expired')) {
      this.expired(e);
      return null;
    }
    return e;
  }
}

/** Makes `ctx` the app context of this component and its children. */
export function provideApp(ctx: AppContext): AppContext {
  return setContext(KEY, ctx);
}

/** The app context (see `provideApp`). */
export function useApp(): AppContext {
  const ctx = getContext<AppContext | undefined>(KEY);
  if (!ctx) throw new Error('useApp() outside an AppContext');
  return ctx;
}

/** The context map for a component rendered alone (unit tests). */
export function appContextMap(ctx: AppContext): Map<symbol, AppContext> {
  return new Map([[KEY, ctx]]);
}
