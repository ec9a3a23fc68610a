import { render, screen, waitFor } from '@testing-library/svelte';
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
  test('shows the Italian home screen by default', async () => {
    const backend = fakeBackend();
    render(App, { backend });
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto in PEC Desktop');
    expect(screen.getByRole('heading', { name: 'Conferma identità' })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByText(/Versione 9\.9\.9/)).toBeInTheDocument());
    expect(document.documentElement.lang).toBe('it');
  });

  test('starts in the saved language', async () => {
    render(App, { backend: fakeBackend({ language: 'en' }) });
    await waitFor(() =>
      expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop'),
    );
    expect(document.documentElement.lang).toBe('en');
  });

  test('switching language changes the text and saves the choice', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    render(App, { backend });
    const english = screen.getByRole('button', { name: 'English' });
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

    await user.click(screen.getByRole('button', { name: 'English' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('The settings could not be saved (disk full).');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
  });

  test('a failure at start is shown in Italian, and the home screen still renders', async () => {
    const backend = fakeBackend();
    backend.failNext.getSettings = new BackendError({
      code: 'settings.read_failed',
      message_it: 'Impostazioni non leggibili.',
      message_en: 'Settings unreadable.',
    });
    render(App, { backend });
    expect(await screen.findByRole('alert')).toHaveTextContent('Impostazioni non leggibili.');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Benvenuto');
  });

  test('the language switch is reachable and usable from the keyboard', async () => {
    const user = userEvent.setup();
    render(App, { backend: fakeBackend() });
    await user.tab(); // skip link
    expect(screen.getByText('Vai al contenuto principale')).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'Italiano' })).toHaveFocus();
    await user.tab();
    expect(screen.getByRole('button', { name: 'English' })).toHaveFocus();
    await user.keyboard('{Enter}');
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Welcome to PEC Desktop');
  });
});
