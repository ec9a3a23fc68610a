import { screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test } from 'vitest';
import BrandFooter from './BrandFooter.svelte';
import { failure, renderWithApp, stubBackend } from './stub-backend';

const artigiani = {
  name: 'Associazione Artigiani Demo',
  product_name: 'PEC Artigiani Demo',
  colors: { primary: '#1F5F8B', accent: '#E0A526' },
  support: { phone: '+39 06 0000 0000', email: 'assistenza@artigiani-demo.example', web: null },
};

describe('BrandFooter', () => {
  test('the plain build shows nothing', async () => {
    const backend = stubBackend({ appBranding: null, appCheckUpdate: null });
    renderWithApp(BrandFooter, {}, backend);
    await waitFor(() => expect(backend.calls).toContain('appCheckUpdate'));
    expect(screen.queryByTestId('brand-footer')).toBeNull();
    expect(screen.queryByTestId('update-notice')).toBeNull();
  });

  test('a branded build names the association and its support contacts', async () => {
    renderWithApp(BrandFooter, {}, stubBackend({ appBranding: artigiani, appCheckUpdate: null }));
    expect(await screen.findByTestId('brand-name')).toHaveTextContent('Offerto da Associazione Artigiani Demo');
    expect(screen.getByTestId('brand-phone')).toHaveTextContent('Telefono +39 06 0000 0000');
    expect(screen.getByTestId('brand-email')).toHaveTextContent('assistenza@artigiani-demo.example');
    expect(screen.queryByTestId('brand-web')).toBeNull();
    expect(screen.getByRole('region', { name: 'Assistenza' })).toBeInTheDocument();
  });

  test('a newer release is announced, as text, with its date in words, and can be hidden', async () => {
    const user = userEvent.setup();
    const update = { current: '0.1.0', latest: '0.2.0', published: '2026-12-01', notes_url: 'https://example.invalid/0.2.0' };
    renderWithApp(BrandFooter, {}, stubBackend({ appBranding: null, appCheckUpdate: update }), 'en');
    const notice = await screen.findByTestId('update-notice');
    expect(notice).toHaveTextContent('Version 0.2.0 is available (published 1 December 2026); you are using 0.1.0.');
    expect(screen.getByTestId('update-notes')).toHaveTextContent('https://example.invalid/0.2.0');
    expect(notice.querySelector('a')).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Hide the update notice' }));
    expect(screen.queryByTestId('update-notice')).toBeNull();
  });

  test('a failing backend shows nothing rather than an error', async () => {
    const boom = failure('ipc.unexpected', 'x');
    const backend = stubBackend({ appBranding: boom, appCheckUpdate: boom });
    renderWithApp(BrandFooter, {}, backend);
    await waitFor(() => expect(backend.calls).toEqual(['appBranding', 'appCheckUpdate']));
    expect(screen.queryByTestId('brand-footer')).toBeNull();
    expect(screen.queryByRole('alert')).toBeNull();
  });

  test('support contacts are opened by Rust, by kind, never by address', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({ appBranding: artigiani, appCheckUpdate: null, desktopOpenSupport: undefined });
    renderWithApp(BrandFooter, {}, backend);
    await user.click(await screen.findByRole('button', { name: 'assistenza@artigiani-demo.example' }));
    await user.click(screen.getByRole('button', { name: '+39 06 0000 0000' }));
    expect(backend.mock('desktopOpenSupport').mock.calls).toEqual([['email'], ['phone']]);
  });

  test('Esporta diagnostica saves the zip where the user chose and says where', async () => {
    const user = userEvent.setup();
    const backend = stubBackend({
      appBranding: null,
      appCheckUpdate: null,
      desktopExportDiagnostics: ['/home/mario/diagnostica.zip', null, failure('diagnostics.write_failed', 'Non salvato')],
    });
    renderWithApp(BrandFooter, {}, backend);
    const button = screen.getByRole('button', { name: 'Esporta diagnostica' });
    await user.click(button);
    expect(await screen.findByTestId('diagnostics-status')).toHaveTextContent('Diagnostica salvata in /home/mario/diagnostica.zip');
    await user.click(button);
    await user.click(button);
    await waitFor(() => expect(screen.getByTestId('diagnostics-status')).toHaveTextContent('Non salvato'));
    expect(backend.calls.filter((c) => c === 'desktopExportDiagnostics')).toHaveLength(3);
  });
});
