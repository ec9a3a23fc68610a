import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import App from './App.svelte';
import type { Language as Lang, Settings } from './lib/backend';
import { EMBEDDED, MARIO, STUDIO, banner, mailbox, studio } from './lib/fixtures';
import { failure, stubBackend, type Script } from './lib/stub-backend';

const MARIO_SESSION = { account_id: 'acc-demo-mario' };
const saveFailed = failure(
  'settings.save_failed',
  'Non è stato possibile salvare le impostazioni (disco pieno).',
  'The settings could not be saved (disk full).',
);
const expired = failure('session.expired', 'La sessione è scaduta: accedi di nuovo.', 'Your session has expired.');

/** Settings as Rust answers them: only the language chosen. */
function settings(language: Lang): Settings {
  return {
    language,
    backup_servers: {},
    reminders: {
      mailbox_expiry: true,
      registry_deadline: true,
      identity_outcome: true,
      backup_finished: true,
      expiry_days_before: 30,
      autostart: false,
      tray: false,
    },
  };
}

/** A fresh start on the sign-in screen, with the signed-in account's mailboxes ready. */
function start(over: Script = {}) {
  return stubBackend({
    settingsGet: settings('it'),
    appInfo: { name: 'PEC Desktop', version: '9.9.9', log_dir: '/tmp/pec-logs' },
    sessionProvider: EMBEDDED,
    sessionRestore: null,
    settingsSetLanguage: (language) => settings(language),
    mailboxList: [mailbox(MARIO), studio()],
    notificationList: [banner(MARIO)],
    mailboxExpiries: [],
    draftLoad: null,
    appBranding: null,
    appCheckUpdate: null,
    ...over,
  });
}

describe('App', () => {
  test('starts on the Italian sign-in screen with the demo accounts', async () => {
    render(App, { backend: start() });
    expect(await screen.findByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto in PEC Desktop');
    expect(screen.getByRole('heading', { name: 'Accedi' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Accedi come Mario Rossi/ })).toBeInTheDocument();
    expect(screen.getByTestId('provider')).toHaveTextContent('Fornitore: fornitore di prova integrato');
    await waitFor(() => expect(screen.getByText(/Versione 9\.9\.9/)).toBeInTheDocument());
    expect(document.documentElement.lang).toBe('it');
  });

  test('tells the core once its first screen is up, after the start-up calls', async () => {
    const backend = start();
    render(App, { backend });
    await screen.findByRole('heading', { name: 'Accedi' });
    await waitFor(() => expect(backend.mock('appShown')).toHaveBeenCalledTimes(1));
    const shown = backend.calls.indexOf('appShown');
    for (const first of ['settingsGet', 'appInfo', 'sessionProvider', 'sessionRestore']) {
      expect(backend.calls.indexOf(first)).toBeGreaterThanOrEqual(0);
      expect(backend.calls.indexOf(first)).toBeLessThan(shown);
    }
  });

  test('starts in the saved language', async () => {
    render(App, { backend: start({ settingsGet: settings('en') }) });
    await waitFor(() => expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop'));
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('en');
  });

  test('switching language changes the text and saves the choice', async () => {
    const user = userEvent.setup();
    const backend = start();
    render(App, { backend });
    const english = await screen.findByRole('button', { name: 'English' });
    expect(english).toHaveAttribute('aria-pressed', 'false');
    await user.click(english);
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
    expect(screen.getByRole('button', { name: 'English' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('group', { name: 'Language' })).toBeInTheDocument();
    expect(backend.mock('settingsSetLanguage')).toHaveBeenCalledWith('en');
  });

  test('a failed save keeps the new language and says why, in that language', async () => {
    const user = userEvent.setup();
    render(App, { backend: start({ settingsSetLanguage: saveFailed }) });
    await user.click(await screen.findByRole('button', { name: 'English' }));
    expect(await screen.findByTestId('error')).toHaveTextContent('The settings could not be saved (disk full).');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
  });

  test('a failure at start is shown in Italian, and the sign-in screen still renders', async () => {
    render(App, { backend: start({ settingsGet: failure('settings.read_failed', 'Impostazioni non leggibili.', 'Settings unreadable.') }) });
    expect(await screen.findByTestId('error')).toHaveTextContent('Impostazioni non leggibili.');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto');
  });

  test('the language switch is reachable and usable from the keyboard', async () => {
    const user = userEvent.setup();
    render(App, { backend: start() });
    await screen.findByRole('heading', { name: 'Accedi' });
    await user.tab(); // skip link
    expect(screen.getByText('Vai al contenuto principale')).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'Italiano' })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'English' })).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
  });

  test('a session kept in the keyring opens the mailboxes directly', async () => {
    const backend = start({ sessionRestore: MARIO_SESSION });
    render(App, { backend });
    expect(await screen.findByRole('heading', { name: 'Panoramica delle caselle' })).toBeInTheDocument();
    expect(backend.calls).toContain('sessionRestore');
  });

  test('signing in with the keyboard and signing out again', async () => {
    const user = userEvent.setup();
    const backend = start({
      sessionSignIn: MARIO_SESSION,
      sessionSignOut: undefined,
      sessionProvider: [EMBEDDED, { ...EMBEDDED, last_login: 'acc-demo-mario' }],
    });
    render(App, { backend });
    await user.type(await screen.findByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByRole('heading', { name: 'Panoramica delle caselle' })).toBeInTheDocument();
    expect(backend.mock('sessionSignIn')).toHaveBeenCalledWith('acc-demo-mario', 'Demo-Password-1', null);

    await user.click(screen.getByRole('button', { name: 'Esci' }));
    expect(await screen.findByRole('heading', { name: 'Accedi' })).toBeInTheDocument();
    expect(backend.calls).toContain('sessionSignOut');
    // The form remembers who it was (not a secret), and nothing else.
    expect(screen.getByLabelText('Indirizzo PEC o identificativo account')).toHaveValue('acc-demo-mario');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  test('a wrong password is said in Italian, next to the form', async () => {
    const user = userEvent.setup();
    render(App, { backend: start({ sessionSignIn: failure('auth.invalid_credentials', 'Nome utente o password non corretti.', 'Wrong user name or password.') }) });
    await user.type(await screen.findByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'sbagliata');
    await user.click(screen.getByTestId('signin-submit'));
    expect(await screen.findByRole('alert')).toHaveTextContent('Nome utente o password non corretti.');
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
  });

  test('an expired session leads back to sign-in and then to the same mailbox', async () => {
    const user = userEvent.setup();
    const backend = start({ sessionSignInDemo: MARIO_SESSION, sessionSignIn: MARIO_SESSION });
    render(App, { backend });
    await user.click(await screen.findByRole('button', { name: /Accedi come Mario Rossi/ }));
    const nav = await screen.findByRole('navigation', { name: 'Le tue caselle PEC' });
    await user.click(within(nav).getByTestId(`mailbox-${STUDIO}`));
    expect(screen.getByTestId('mailbox-title')).toHaveTextContent(STUDIO);

    backend.script('mailboxList', expired, [mailbox(MARIO), studio()]);
    await user.click(screen.getByRole('button', { name: 'Aggiorna' }));

    expect(await screen.findByTestId('signin-notice')).toHaveTextContent('La sessione è scaduta');
    expect(screen.getByLabelText('Indirizzo PEC o identificativo account')).toHaveValue('acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent(STUDIO);
  });
});
