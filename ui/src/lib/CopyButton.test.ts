import { screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import CopyButton from './CopyButton.svelte';
import { failure, renderWithApp, stubBackend } from './stub-backend';

describe('CopyButton', () => {
  test('copies through Rust, with the kind that decides the wiping, and says so', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({ desktopCopy: undefined });
    renderWithApp(
      CopyButton,
      { kind: 'app_password', text: 'abcd-efgh-ijkl', label: 'Copia la password per le app', done: 'Copiata', testid: 'copy' },
      backend,
    );
    await user.click(screen.getByRole('button', { name: 'Copia la password per le app' }));
    expect(backend.mock('desktopCopy').mock.calls).toEqual([['app_password', 'abcd-efgh-ijkl']]);
    expect(screen.getByTestId('copy-status')).toHaveTextContent('Copiata');
  });

  test('a clipboard that refuses is reported in the language of the app', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({ desktopCopy: failure('clipboard.unavailable', 'Appunti non disponibili', 'Clipboard unavailable') });
    renderWithApp(CopyButton, { kind: 'practice_number', text: 'PR-1', label: 'Copy', done: 'Done', testid: 'copy' }, backend, 'en');
    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(await screen.findByTestId('copy-status')).toHaveTextContent('Clipboard unavailable');
  });
});
