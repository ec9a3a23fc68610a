import { screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import SignIn from './SignIn.svelte';
import { EMBEDDED } from './fixtures';
import { failure, renderWithApp, stubBackend } from './stub-backend';

describe('SignIn', () => {
  test('asks for the two-step code when the provider requires it', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({
      sessionSignIn: failure('auth.totp_required', 'Inserisci il codice della verifica in due passaggi.', 'Enter the two-step login code.'),
    });
    const onsignedin = vi.fn();
    renderWithApp(SignIn, { provider: EMBEDDED, onsignedin }, backend);
    await user.type(screen.getByLabelText('Indirizzo PEC o identificativo account'), 'acc-demo-mario');
    await user.type(screen.getByLabelText('Password'), 'Demo-Password-1{Enter}');
    expect(await screen.findByRole('alert')).toHaveTextContent('verifica in due passaggi');
    expect(screen.getByLabelText('Codice della verifica in due passaggi')).toBeInTheDocument();
    expect(onsignedin).not.toHaveBeenCalled();
  });

  test('with a configured provider there are no demo accounts, and its address is shown', () => {
    const provider = { base_url: 'https://pec.example.it', embedded: false, demo_accounts: [], last_login: null };
    renderWithApp(SignIn, { provider, onsignedin: vi.fn() }, stubBackend(), 'en');
    expect(screen.queryByRole('heading', { name: 'Demo accounts' })).toBeNull();
    expect(screen.getByTestId('provider')).toHaveTextContent('Provider: https://pec.example.it');
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeDisabled();
  });
});
