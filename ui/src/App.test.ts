import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import App from './App.svelte';
import { BackendError } from './lib/backend';
import { fakeBackend } from './lib/fake-backend';

const saveFailed = new BackendError({
  code: 'settings.save_failed',
  message_it: 'Non è stato possibile salvare le impostazioni (disco pieno).',
  message_en: 'The settings could not be saved (disk full).',
});

describe('App', () => {
  test('starts on the Italian sign-in screen with the demo accounts', async () => {
    const backend = fakeBackend();
    render(App, { backend });
    expect(await screen.findByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto in PEC Desktop');
    expect(screen.getByRole('heading', { name: 'Accedi' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: /Accedi come Mario Rossi/ })).toBeInTheDocument();
    expect(screen.getByTestId('provider')).toHaveTextContent('Fornitore: fornitore di prova integrato');
    await waitFor(() => expect(screen.getByText(/Versione 9\.9\.9/)).toBeInTheDocument());
    expect(document.documentElement.lang).toBe('it');
  });

  test('starts in the saved language', async () => {
    render(App, { backend: fakeBackend({ language: 'en' }) });
    await waitFor(() =>
      expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop'),
    );
    expect(screen.getByRole('heading', { name: 'Sign in' })).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('en');
  });

  test('switching language changes the text and saves the choice', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    render(App, { backend });
    const english = await screen.findByRole('button', { name: 'English' });
    expect(english).toHaveAttribute('aria-pressed', 'false');

    await user.click(english);

    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
    expect(screen.getByRole('button', { name: 'English' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('group', { name: 'Language' })).toBeInTheDocument();
    await waitFor(() => expect(backend.settings.language).toBe('en'));
  });

  test('a failed save keeps the new language and says why, in that language', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    backend.failNext.setLanguage = saveFailed;
    render(App, { backend });

    await user.click(await screen.findByRole('button', { name: 'English' }));

    const alert = await screen.findByTestId('error');
    expect(alert).toHaveTextContent('The settings could not be saved (disk full).');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
  });

  test('a failure at start is shown in Italian, and the sign-in screen still renders', async () => {
    const backend = fakeBackend();
    backend.failNext.getSettings = new BackendError({
      code: 'settings.read_failed',
      message_it: 'Impostazioni non leggibili.',
      message_en: 'Settings unreadable.',
    });
    render(App, { backend });
    expect(await screen.findByTestId('error')).toHaveTextContent('Impostazioni non leggibili.');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto');
  });

  test('the language switch is reachable and usable from the keyboard', async () => {
    const user = userEvent.setup();
    render(App, { backend: fakeBackend() });
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
    const backend = fakeBackend();
    backend.keyring = 'acc-demo-mario';
    render(App, { backend });
    expect(await screen.findByRole('heading', { name: 'Panoramica delle caselle' })).toBeInTheDocument();
    expect(backend.calls).toContain('restoreSession');
  });

  test('signing in with the keyboard and signing out again', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    render(App, { backend });
    await user.type(await screen.findByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByRole('heading', { name: 'Panoramica delle caselle' })).toBeInTheDocument();
    expect(backend.keyring).toBe('acc-demo-mario');

    await user.click(screen.getByRole('button', { name: 'Esci' }));
    expect(await screen.findByRole('heading', { name: 'Accedi' })).toBeInTheDocument();
    expect(backend.keyring).toBeNull();
    // The form remembers who it was (not a secret), and nothing else.
    expect(screen.getByLabelText('Indirizzo PEC o identificativo account')).toHaveValue('acc-demo-mario');
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  test('a wrong password is said in Italian, next to the form', async () => {
    const user = userEvent.setup();
    render(App, { backend: fakeBackend() });
    await user.type(await screen.findByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'sbagliata');
    await user.click(screen.getByTestId('signin-submit'));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Nome utente o password non corretti.');
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
  });

  test('an expired session leads back to sign-in and then to the same mailbox', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    render(App, { backend });
    await user.click(await screen.findByRole('button', { name: /Accedi come Mario Rossi/ }));
    const nav = await screen.findByRole('navigation', { name: 'Le tue caselle PEC' });
    await user.click(within(nav).getByTestId('mailbox-studio.rossi@pec.sandbox.test'));
    expect(screen.getByTestId('mailbox-title')).toHaveTextContent('studio.rossi@pec.sandbox.test');

    backend.expireSession();
    await user.click(screen.getByRole('button', { name: 'Aggiorna' }));

    expect(await screen.findByTestId('signin-notice')).toHaveTextContent('La sessione è scaduta');
    expect(screen.getByLabelText('Indirizzo PEC o identificativo account')).toHaveValue('acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByTestId('mailbox-title')).toHaveTextContent('studio.rossi@pec.sandbox.test');
  });
});
