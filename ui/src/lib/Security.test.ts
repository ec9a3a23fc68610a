import { render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Security from './Security.svelte';
import { FAKE_OTP, fakeBackend, mailbox } from './fake-backend';
import { messages } from './i18n';

describe('Security: app passwords', () => {
  function setup() {
    const backend = fakeBackend();
    const create = vi.spyOn(backend, 'appPasswordCreate');
    render(Security, {
      backend,
      m: messages.it,
      lang: 'it',
      mailbox: mailbox('mario.rossi@pec.example.it', { two_step_login: true }),
      onchanged: vi.fn(),
      onexpired: vi.fn(),
    });
    return { create };
  }

  test('a new app password needs a fresh two-step code, which goes to the provider once', async () => {
    const user = userEvent.setup();
    const { create } = setup();
    await user.type(screen.getByLabelText('Per quale programma?'), 'Thunderbird');
    const button = screen.getByRole('button', { name: 'Crea password' });
    expect(button).toBeDisabled();
    await user.type(screen.getByLabelText('Codice a 6 cifre dall’app'), FAKE_OTP);
    expect(button).toBeEnabled();
    await user.click(button);
    expect(create).toHaveBeenCalledWith('mario.rossi@pec.example.it', 'Thunderbird', FAKE_OTP);
    expect(await screen.findByTestId('app-password')).toHaveTextContent('abcd-efgh-ijkl-mnop');
    expect(screen.getByLabelText('Codice a 6 cifre dall’app')).toHaveValue('');
  });

  test('a wrong code is an alert and creates nothing; the code field is emptied', async () => {
    const user = userEvent.setup();
    setup();
    await user.type(screen.getByLabelText('Per quale programma?'), 'Outlook');
    await user.type(screen.getByLabelText('Codice a 6 cifre dall’app'), '000000');
    await user.click(screen.getByRole('button', { name: 'Crea password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Codice non valido');
    expect(screen.queryByTestId('app-password')).toBeNull();
    expect(screen.getByLabelText('Codice a 6 cifre dall’app')).toHaveValue('');
  });
});
