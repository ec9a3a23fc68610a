import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import BrandFooter from './BrandFooter.svelte';
import { BackendError } from './backend';
import { fakeBackend } from './fake-backend';
import { messages } from './i18n';

const artigiani = {
  name: 'Associazione Artigiani Demo',
  product_name: 'PEC Artigiani Demo',
  colors: { primary: '#1F5F8B', accent: '#E0A526' },
  support: { phone: '+39 06 0000 0000', email: 'assistenza@artigiani-demo.example' },
};

describe('BrandFooter', () => {
  test('the plain build shows nothing', async () => {
    const backend = fakeBackend();
    render(BrandFooter, { backend, m: messages.it });
    await waitFor(() => expect(backend.calls).toContain('checkForUpdate'));
    expect(screen.queryByTestId('brand-footer')).toBeNull();
    expect(screen.queryByTestId('update-notice')).toBeNull();
  });

  test('a branded build names the association and its support contacts', async () => {
    const backend = fakeBackend();
    backend.brand = artigiani;
    render(BrandFooter, { backend, m: messages.it });
    expect(await screen.findByTestId('brand-name')).toHaveTextContent('Offerto da Associazione Artigiani Demo');
    expect(screen.getByTestId('brand-phone')).toHaveTextContent('Telefono +39 06 0000 0000');
    expect(screen.getByTestId('brand-email')).toHaveTextContent('assistenza@artigiani-demo.example');
    expect(screen.queryByTestId('brand-web')).toBeNull();
    expect(screen.getByRole('region', { name: 'Assistenza' })).toBeInTheDocument();
  });

  test('a newer release is announced, as text, and can be hidden', async () => {
    const user = userEvent.setup();
    const backend = fakeBackend();
    backend.update = {
      current: '0.1.0',
      latest: '0.2.0',
      published: '2026-12-01',
      notes_url: 'https://example.invalid/0.2.0',
    };
    render(BrandFooter, { backend, m: messages.en });
    const notice = await screen.findByTestId('update-notice');
    expect(notice).toHaveTextContent('Version 0.2.0 is available (published 2026-12-01); you are using 0.1.0.');
    expect(screen.getByTestId('update-notes')).toHaveTextContent('https://example.invalid/0.2.0');
    expect(notice.querySelector('a')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Hide the update notice' }));
    expect(screen.queryByTestId('update-notice')).toBeNull();
  });

  test('a failing backend shows nothing rather than an error', async () => {
    const backend = fakeBackend();
    const boom = new BackendError({ code: 'ipc.unexpected', message_it: 'x', message_en: 'x' });
    backend.failNext = { branding: boom, checkForUpdate: boom };
    render(BrandFooter, { backend, m: messages.it });
    await waitFor(() => expect(backend.calls).toEqual(['branding', 'checkForUpdate']));
    expect(screen.queryByTestId('brand-footer')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });
});
