// A scripted backend for component tests: each test says what each call answers, in order,
// and reads which calls were made with which arguments. No logic of the provider is copied
// here; the flows themselves are proven end to end against the real sandbox (tests/e2e).
import { render } from '@testing-library/svelte';
import type { Component, ComponentProps } from 'svelte';
import { vi, type Mock } from 'vitest';
import { BackendError, type Backend, type BackendErrorPayload, type Language } from './backend';
import { AppContext, appContextMap } from './context.svelte';

/** What one call answers: a value, a failure, or a function of the arguments. */
export type Answer<K extends keyof Backend> =
  | Awaited<ReturnType<Backend[K]>>
  | BackendError
  | ((...args: Parameters<Backend[K]>) => Awaited<ReturnType<Backend[K]>> | Promise<Awaited<ReturnType<Backend[K]>>>);

/** The answers of each call, in order; the last one repeats. Unscripted calls answer nothing. */
export type Script = { [K in keyof Backend]?: Answer<K> | Answer<K>[] };

export type Stub = Backend & {
  /** The mock of each call made so far (`stub.mock('identityAct').mock.calls`). */
  mock<K extends keyof Backend>(name: K): Mock;
  /** The names of the calls made, in order. */
  readonly calls: string[];
  /** Replaces a call's script with these answers (the last one repeats). */
  script<K extends keyof Backend>(name: K, ...answers: Answer<K>[]): void;
};

export function failure(code: string, message_it = code, message_en = message_it): BackendError {
  const payload: BackendErrorPayload = { code, message_it, message_en };
  return new BackendError(payload);
}

export function stubBackend(script: Script = {}): Stub {
  const queues = new Map<string, unknown[]>();
  const mocks = new Map<string, Mock>();
  const calls: string[] = [];
  for (const [name, answers] of Object.entries(script)) queues.set(name, Array.isArray(answers) && !isArrayAnswer(name) ? [...answers] : [answers]);

  function mockOf(name: string): Mock {
    let mock = mocks.get(name);
    if (!mock) {
      mock = vi.fn(async (...args: unknown[]) => {
        calls.push(name);
        const queue = queues.get(name) ?? [];
        const answer = queue.length > 1 ? queue.shift() : queue[0];
        const value = typeof answer === 'function' ? await (answer as (...a: unknown[]) => unknown)(...args) : answer;
        if (value instanceof BackendError) throw value;
        return value;
      });
      mocks.set(name, mock);
    }
    return mock;
  }

  const extra = {
    mock: (name: string) => mockOf(name),
    calls,
    script: (name: string, ...answers: unknown[]) => {
      queues.set(name, answers);
    },
  };
  return new Proxy(extra, {
    get(target, prop: string) {
      if (prop in target) return target[prop as keyof typeof target];
      if (prop === 'then') return undefined;
      return mockOf(prop);
    },
  }) as unknown as Stub;
}

/** Calls whose answer is itself a list: a single list in the script is one answer. */
const LIST_ANSWERS = new Set([
  'mailboxList',
  'mailboxExpiries',
  'notificationList',
  'identityWebcamSlots',
  'securityAppPasswordList',
  'renewalMailboxes',
  'signatureModules',
  'signatureTokenCertificates',
  'signatureRemoteSignIn',
]);

function isArrayAnswer(name: string): boolean {
  return LIST_ANSWERS.has(name);
}

/** Renders `component` with an app context around it (the stub backend, a language). */
export function renderWithApp<C extends Component<any>>(
  component: C,
  props: ComponentProps<C>,
  backend: Backend,
  lang: Language = 'it',
  onexpired: (e: BackendError) => void = () => {},
) {
  const app = new AppContext(backend, onexpired, lang);
  // testing-library's import type is conditional on the component, which TypeScript cannot
  // resolve for a generic one: the props were checked against `C` above.
  const rendered = render(component as Component<Record<string, unknown>>, { props, context: appContextMap(app) });
  return { app, ...rendered };
}
