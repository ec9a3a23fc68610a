import { screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Security from './Security.svelte';
import { MARIO, mailbox } from './fixtures';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

const CODE = '123456';
const CODE_FIELD = 'Codice a 6 cifre dall’app';

const created = {
  id: 'ap-1',
  label: 'Thunderbird',
  password: 'abcd-efgh-ijkl-mnop',
  created_at: '2026-11-22T10:00:00Z',
};

function renderSecurity(over: Script = {}) {
  const backend = stubBackend({ securityAppPasswordList: [], ...over });
  renderWithApp(Security, { mailbox: mailbox(MARIO, { two_step_login: true }), onchanged: vi.fn() }, backend);
  return backend;
}

describe('Security: app passwords', () => {
  test('a new app password needs a fresh two-step code, which goes to the provider once', async () => {
    const user = userEvent.setup();
    const backend = renderSecurity({ securityAppPasswordCreate: created });
    await user.type(screen.getByLabelText('Per quale programma?'), 'Thunderbird');
    const button = screen.getByRole('button', { name: 'Crea password' });
    expect(button).toBeDisabled();
    await user.type(screen.getByLabelText(CODE_FIELD), '12345');
    expect(button).toBeDisabled();
    await user.type(screen.getByLabelText(CODE_FIELD), '6');
    expect(button).toBeEnabled();
    await user.click(button);
    expect(backend.mock('securityAppPasswordCreate').mock.calls).toEqual([[MARIO, 'Thunderbird', CODE]]);
    expect(await screen.findByTestId('app-password')).toHaveTextContent('abcd-efgh-ijkl-mnop');
    expect(screen.getByLabelText(CODE_FIELD)).toHaveValue('');
  });

  test('a wrong code is an alert and creates nothing; the code field is emptied', async () => {
    const user = userEvent.setup();
    const backend = renderSecurity({
      securityAppPasswordCreate: failure('two_step.code_invalid', 'Codice non valido.', 'Invalid code.'),
    });
    await user.type(screen.getByLabelText('Per quale programma?'), 'Outlook');
    await user.type(screen.getByLabelText(CODE_FIELD), '000000');
    await user.click(screen.getByRole('button', { name: 'Crea password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Codice non valido');
    expect(backend.mock('securityAppPasswordCreate').mock.calls).toEqual([[MARIO, 'Outlook', '000000']]);
    expect(screen.queryByTestId('app-password')).toBeNull();
    expect(screen.getByLabelText(CODE_FIELD)).toHaveValue('');
  });
});
