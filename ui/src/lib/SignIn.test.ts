import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import SignIn from './SignIn.svelte';
import { BackendError } from './backend';
import { fakeBackend } from './fake-backend';
import { messages } from './i18n';

describe('SignIn', () => {
  test('asks for the two-step code when the provider requires it', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    backend.failNext.signIn = new BackendError({
      code: 'auth.totp_required',
      message_it: 'Inserisci il codice della verifica in due passaggi.',
      message_en: 'Enter the two-step login code.',
    });
    const onsignedin = vi.fn();
    render(SignIn, { backend, m: messages.it, lang: 'it', provider: backend.provider, onsignedin });
    await user.type(screen.getByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('verifica in due passaggi');
    expect(screen.getByLabelText('Codice della verifica in due passaggi')).toBeInTheDocument();
    expect(onsignedin).not.toHaveBeenCalled();
  });

  test('with a configured provider there are no demo accounts, and its address is shown', () => {
    const backend = fakeBackend();
    const provider = { base_url: 'https://pec.example.it', embedded: false, demo_accounts: [], last_login: null };
    render(SignIn, { backend, m: messages.en, lang: 'en', provider, onsignedin: vi.fn() });
    expect(screen.queryByRole('heading', { name: 'Demo accounts' })).toBeNull();
    expect(screen.getByTestId('provider')).toHaveTextContent('Provider: https://pec.example.it');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });
});
