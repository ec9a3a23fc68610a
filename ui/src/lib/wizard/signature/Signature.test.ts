import { screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import type { FormView, IdentityRequest, ReadersUpdate, TokenCertificateView } from '../../backend';
import { request } from '../../fixtures';
import { failure, renderWithApp, stubBackend, type Script } from '../../stub-backend';
import SavedCopy from './SavedCopy.svelte';
import SignatureMethod from './SignatureMethod.svelte';

const FORM: FormView = {
  request_id: 'req-1',
  title: 'Modulo di richiesta di identificazione del titolare',
  paragraphs: ['Richiesta n. req-1', 'Codice fiscale: RSSMRA45C12F205C', '- di chiedere l’identificazione del titolare'],
  filename: 'modulo-req-1.pdf',
  sha256: 'ab'.repeat(32),
  issued_at: '2026-12-07T10:00:00Z',
  remote_signature_url: null,
};
const CERT: TokenCertificateView = {
  token_label: 'Firma Test',
  manufacturer: 'SoftHSM project',
  cert_id: '10',
  subject: 'CN=Mario Rossi,serialNumber=TINIT-RSSMRA45C12F205C',
  pin_warning: null,
};

function renderMethod(method: IdentityRequest['method'], script: Script) {
  const backend = stubBackend({ signatureForm: FORM, signatureModules: [{ vendor: 'OpenSC', path: '/usr/lib/opensc-pkcs11.so' }], signatureTokenCertificates: [CERT], cardWatch: undefined, cardUnwatch: undefined, ...script });
  const onrequest = vi.fn();
  renderWithApp(SignatureMethod, { request: request('identifying', { method }), onrequest }, backend);
  return { backend, onrequest };
}

describe('firma digitale: the request form', () => {
  test('the form is shown as text, and nothing can be signed before it is accepted', async () => {
    const user = userEvent.setup();
    const { backend } = renderMethod('digital_signature', { signatureFormOpen: undefined, signatureFormSave: '/home/u/Documenti/PEC Desktop/modulo-req-1.pdf' });
    const form = await screen.findByTestId('sig-form');
    expect(form).toHaveTextContent('Modulo di richiesta di identificazione del titolare');
    expect(form).toHaveTextContent('Codice fiscale: RSSMRA45C12F205C');
    expect(screen.queryByTestId('sig-token-pin')).toBeNull();
    await user.click(screen.getByTestId('sig-form-open'));
    expect(backend.mock('signatureFormOpen')).toHaveBeenCalledWith('req-1');
    await user.click(screen.getByTestId('sig-form-save'));
    expect(await screen.findByTestId('sig-form-saved')).toHaveTextContent('PEC Desktop/modulo-req-1.pdf');
    await user.click(screen.getByTestId('sig-accept'));
    expect(screen.queryByTestId('sig-token-pin')).toBeNull();
    expect(backend.calls).not.toContain('signatureModules');
    await user.click(screen.getByTestId('sig-device-pkcs11'));
    expect(await screen.findByTestId('sig-token-pin')).toBeInTheDocument();
  });

  test('PKCS#11: the first module and certificate are picked, the PIN is sent once', async () => {
    const user = userEvent.setup();
    const { backend, onrequest } = renderMethod('digital_signature', { signatureSignToken: request('identified') });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.click(screen.getByTestId('sig-device-pkcs11'));
    await user.type(await screen.findByTestId('sig-token-pin'), '246810');
    await user.click(screen.getByTestId('sig-token-sign'));
    await waitFor(() => expect(onrequest).toHaveBeenCalledTimes(1));
    expect(backend.mock('signatureSignToken')).toHaveBeenCalledTimes(1);
    expect(backend.mock('signatureSignToken')).toHaveBeenCalledWith('req-1', '/usr/lib/opensc-pkcs11.so', 'Firma Test', '10', '246810');
  });

  test('PKCS#11: a wrong PIN shows the token’s message, the field is emptied, nothing is resent', async () => {
    const user = userEvent.setup();
    const warning = { code: 'sign.pin_final_try', message_it: 'Attenzione: è l’ultimo tentativo prima del blocco del PIN.', message_en: 'Last try.' };
    const { backend, onrequest } = renderMethod('digital_signature', {
      signatureSignToken: failure('sign.pin_wrong', 'PIN errato: ultimo tentativo prima del blocco.'),
      signatureTokenCertificates: (() => {
        let calls = 0;
        return () => (calls++ === 0 ? [CERT] : [{ ...CERT, pin_warning: warning }]);
      })(),
    });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.click(screen.getByTestId('sig-device-pkcs11'));
    await user.type(await screen.findByTestId('sig-token-pin'), '000000');
    await user.click(screen.getByTestId('sig-token-sign'));
    expect(await screen.findByTestId('sig-sign-error')).toHaveTextContent('ultimo tentativo prima del blocco');
    expect(await screen.findByTestId('sig-pin-warning')).toHaveAttribute('data-code', 'sign.pin_final_try');
    expect(screen.getByTestId('sig-token-pin')).toHaveValue('');
    expect(screen.getByTestId('sig-token-sign')).toBeDisabled();
    expect(backend.mock('signatureSignToken')).toHaveBeenCalledTimes(1);
    expect(onrequest).not.toHaveBeenCalled();
  });

  test('"Scegli un file…" adds the module the user picked and reads its certificates', async () => {
    const user = userEvent.setup();
    const { backend } = renderMethod('digital_signature', { signatureModules: [], signaturePickModule: '/opt/vendor/libbit4xpki.so' });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.click(screen.getByTestId('sig-device-pkcs11'));
    expect(await screen.findByTestId('sig-no-modules')).toBeInTheDocument();
    await user.click(screen.getByTestId('sig-module-pick'));
    await waitFor(() => expect(backend.mock('signatureTokenCertificates')).toHaveBeenCalledWith('/opt/vendor/libbit4xpki.so'));
    expect(await screen.findByTestId('sig-cert')).toBeInTheDocument();
  });

  test('the card’s signature: reader and PIN, one call', async () => {
    const user = userEvent.setup();
    const { backend, onrequest } = renderMethod('digital_signature', {
      cardWatch: (send: (u: ReadersUpdate) => void) => {
        send({ readers: [{ name: 'Virtual PCD 00 00', card: 'cns', card_label: 'STIncard', atr: '3B', busy: false, link: 'contact' }], error: null });
      },
      signatureSignCard: request('identified'),
    });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.click(screen.getByTestId('sig-device-card'));
    await user.type(await screen.findByTestId('sig-card-pin'), '12345678');
    await user.click(screen.getByTestId('sig-card-sign'));
    await waitFor(() => expect(onrequest).toHaveBeenCalledTimes(1));
    expect(backend.mock('signatureSignCard')).toHaveBeenCalledWith('req-1', 'Virtual PCD 00 00', '12345678', false);
  });

  test('the signature PIN’s last try: asked, cancelled keeps the PIN unsent, confirmed sends it once more', async () => {
    const user = userEvent.setup();
    const held = failure('card.pin_last_try', 'Ultimo tentativo: se il PIN è errato la carta si blocca.');
    const { backend, onrequest } = renderMethod('digital_signature', {
      cardWatch: (send: (u: ReadersUpdate) => void) => {
        send({ readers: [{ name: 'Virtual PCD 00 00', card: 'cns', card_label: 'STIncard', atr: '3B', busy: false, link: 'contact' }], error: null });
      },
      signatureSignCard: [held, held, request('identified')],
    });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.click(screen.getByTestId('sig-device-card'));
    await user.type(await screen.findByTestId('sig-card-pin'), '12345678');
    await user.click(screen.getByTestId('sig-card-sign'));
    // The safe answer has the focus; cancelling sends nothing and returns to the PIN.
    await waitFor(() => expect(screen.getByTestId('sig-last-try-cancel')).toHaveFocus());
    await user.click(screen.getByTestId('sig-last-try-cancel'));
    expect(screen.queryByTestId('sig-last-try')).toBeNull();
    expect(screen.getByTestId('sig-card-pin')).toHaveFocus();
    expect(backend.mock('signatureSignCard')).toHaveBeenCalledTimes(1);
    await user.type(screen.getByTestId('sig-card-pin'), '12345678');
    await user.click(screen.getByTestId('sig-card-sign'));
    await user.click(await screen.findByTestId('sig-last-try-continue'));
    await waitFor(() => expect(onrequest).toHaveBeenCalledTimes(1));
    expect(backend.mock('signatureSignCard').mock.calls.map((c) => c[3])).toEqual([false, false, true]);
    expect(screen.queryByTestId('sig-sign-error')).toBeNull();
  });
});

describe('firma remota', () => {
  test('credentials, then the certificate and the OTP: each sent once', async () => {
    const user = userEvent.setup();
    const { backend, onrequest } = renderMethod('remote_signature', {
      signatureForm: { ...FORM, remote_signature_url: 'http://127.0.0.1:9/csc/v2' },
      signatureRemoteSignIn: [{ id: 'firma.mario-qes', subject: 'CN=Mario Rossi', otp_label: 'OTP' }],
      signatureSignRemote: request('identified'),
    });
    await user.click(await screen.findByTestId('sig-accept'));
    expect(screen.getByTestId('sig-remote-service')).toHaveTextContent('127.0.0.1:9/csc/v2');
    await user.type(screen.getByTestId('sig-remote-user'), 'firma.mario');
    await user.type(screen.getByTestId('sig-remote-password'), 'Firma-Password-1');
    await user.click(screen.getByTestId('sig-remote-sign-in'));
    // Signed in: the focus is already in the OTP field.
    await waitFor(() => expect(screen.getByTestId('sig-remote-otp')).toHaveFocus());
    await user.keyboard('123456');
    await user.click(screen.getByTestId('sig-remote-sign'));
    await waitFor(() => expect(onrequest).toHaveBeenCalledTimes(1));
    expect(backend.mock('signatureRemoteSignIn')).toHaveBeenCalledWith('req-1', 'firma.mario', 'Firma-Password-1');
    expect(backend.mock('signatureSignRemote')).toHaveBeenCalledWith('req-1', 'firma.mario-qes', '123456');
  });

  test('refused credentials are explained and the password is not kept', async () => {
    const user = userEvent.setup();
    renderMethod('remote_signature', { signatureRemoteSignIn: failure('sign.remote_refused', 'Credenziali o OTP della firma remota non accettati.') });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.type(screen.getByTestId('sig-remote-user'), 'firma.mario');
    await user.type(screen.getByTestId('sig-remote-password'), 'wrong');
    await user.click(screen.getByTestId('sig-remote-sign-in'));
    expect(await screen.findByTestId('sig-sign-error')).toHaveTextContent('non accettati');
    expect(screen.getByTestId('sig-remote-password')).toHaveValue('');
  });

  test('a refused OTP is explained (the error takes the focus) and the OTP field is emptied', async () => {
    const user = userEvent.setup();
    const { backend } = renderMethod('remote_signature', {
      signatureRemoteSignIn: [{ id: 'firma.mario-qes', subject: 'CN=Mario Rossi', otp_label: 'OTP' }],
      signatureSignRemote: failure('sign.remote_refused', 'Codice OTP non valido.'),
    });
    await user.click(await screen.findByTestId('sig-accept'));
    await user.type(screen.getByTestId('sig-remote-user'), 'firma.mario');
    await user.type(screen.getByTestId('sig-remote-password'), 'Firma-Password-1');
    await user.click(screen.getByTestId('sig-remote-sign-in'));
    await user.type(await screen.findByTestId('sig-remote-otp'), '000000');
    await user.click(screen.getByTestId('sig-remote-sign'));
    expect(await screen.findByTestId('sig-sign-error')).toHaveTextContent('OTP non valido');
    await waitFor(() => expect(screen.getByTestId('sig-sign-error')).toHaveFocus());
    expect(screen.getByTestId('sig-remote-otp')).toHaveValue('');
    expect(backend.mock('signatureSignRemote')).toHaveBeenCalledTimes(1);
  });
});

test('the success page saves the signed copy and says where', async () => {
  const user = userEvent.setup();
  const backend = stubBackend({ signatureSaveCopy: '/home/u/Documenti/PEC Desktop/modulo-req-1.pdf.p7m' });
  renderWithApp(SavedCopy, { requestId: 'req-1' }, backend);
  await user.click(screen.getByTestId('sig-save-copy'));
  expect(await screen.findByTestId('sig-copy-saved')).toHaveTextContent('modulo-req-1.pdf.p7m');
  expect(backend.mock('signatureSaveCopy')).toHaveBeenCalledWith('req-1');
});
