// The pieces that keep screens readable and waits visible: the stepper, the busy button, the
// plural forms of counts, and the banner giving way to an open procedure.
import { fireEvent, screen, waitFor } from '@testing-library/svelte';
import { createRawSnippet } from 'svelte';
import { describe, expect, test, vi } from 'vitest';
import type { ReaderView } from './backend';
import BusyButton from './BusyButton.svelte';
import Field from './Field.svelte';
import { fmt, messages } from './i18n';
import { stubBackend, renderWithApp } from './stub-backend';
import Stepper from './Stepper.svelte';
import LastTryQuestion from './wizard/LastTryQuestion.svelte';
import ReaderList from './wizard/ReaderList.svelte';

const label = (text: string) => createRawSnippet(() => ({ render: () => `<span>${text}</span>` }));

describe('Stepper', () => {
  test('is an ordered list with the current step marked for assistive technology', () => {
    renderWithApp(Stepper, { steps: ['Ruolo', 'Dati', 'Metodo'], current: 1 }, stubBackend({}));
    const list = screen.getByRole('list', { name: messages.it.stepperLabel });
    expect(list.tagName).toBe('OL');
    const items = screen.getAllByRole('listitem');
    expect(items).toHaveLength(3);
    expect(items.filter((li) => li.getAttribute('aria-current') === 'step')).toEqual([items[1]]);
    expect(items[1]).toHaveTextContent('Passo 2 di 3: Dati');
    // The others are named for screen readers, the done ones said to be done.
    expect(items[0]).toHaveTextContent('Passo 1 di 3: Ruolo, completato');
    expect(items[2]).toHaveTextContent('Passo 3 di 3: Metodo');
  });

  test('off the main path no step is current', () => {
    renderWithApp(Stepper, { steps: ['A', 'B'], current: -1 }, stubBackend({}), 'en');
    expect(screen.getAllByRole('listitem').some((li) => li.hasAttribute('aria-current'))).toBe(false);
    expect(screen.getByRole('list', { name: messages.en.stepperLabel })).toBeInTheDocument();
  });
});

describe('BusyButton', () => {
  test('spins with aria-busy and a spoken label only on the button that was pressed', async () => {
    let busy = $state(false);
    const start = vi.fn(() => (busy = true));
    const props = {
      get busy() {
        return busy;
      },
      onclick: start,
      children: label('Avvia'),
      'data-testid': 'pressed',
    };
    const other = {
      get busy() {
        return busy;
      },
      children: label('Altro'),
      'data-testid': 'other',
    };
    renderWithApp(BusyButton, props, stubBackend({}));
    renderWithApp(BusyButton, other, stubBackend({}));
    const pressed = screen.getByTestId('pressed');
    expect(pressed).not.toHaveAttribute('aria-busy');
    await fireEvent.click(pressed);
    expect(start).toHaveBeenCalledOnce();
    await waitFor(() => expect(pressed).toHaveAttribute('aria-busy', 'true'));
    expect(pressed).toBeDisabled();
    expect(pressed).toHaveAccessibleName(/Avvia.*Operazione in corso, attendere/);
    expect(pressed.querySelector('.spinner')).not.toBeNull();
    // The other button of the same flow waits too, but shows no spinner of its own.
    const idle = screen.getByTestId('other');
    expect(idle).not.toHaveAttribute('aria-busy');
    expect(idle.querySelector('.spinner')).toBeNull();
    busy = false;
    await waitFor(() => expect(pressed).not.toHaveAttribute('aria-busy'));
    expect(pressed.querySelector('.spinner')).toBeNull();
  });

  test('a press that started nothing does not spin at the next wait', async () => {
    let busy = $state(false);
    const props = {
      get busy() {
        return busy;
      },
      children: label('Invia'),
      'data-testid': 'idle',
    };
    renderWithApp(BusyButton, props, stubBackend({}));
    const button = screen.getByTestId('idle');
    await fireEvent.click(button);
    await new Promise((r) => setTimeout(r, 10));
    busy = true;
    await new Promise((r) => setTimeout(r, 10));
    expect(button).not.toHaveAttribute('aria-busy');
  });
});

describe('counts', () => {
  test('one and many take their own form in both languages', () => {
    expect(fmt(messages.it, 'otpRemaining', { s: 1 })).toBe('Il codice scade tra 1 secondo.');
    expect(fmt(messages.en, 'otpRemaining', { s: 1 })).toBe('The code expires in 1 second.');
    expect(fmt(messages.en, 'otpRemaining', { s: 30 })).toBe('The code expires in 30 seconds.');
    expect(fmt(messages.it, 'expiryDays', { days: 1 })).toBe('Scade tra 1 giorno');
    expect(fmt(messages.it, 'expiryDays', { days: 2 })).toBe('Scade tra 2 giorni');
    expect(fmt(messages.en, 'expiryDays', { days: 1 })).toBe('Expires in 1 day');
    expect(fmt(messages.it, 'stepperStep', { n: 7, total: 10, name: 'Identificato' })).toBe('Passo 7 di 10: Identificato');
  });
});

describe('LastTryQuestion', () => {
  test('asks with the safe answer focused; "Annulla" gives the focus back to the PIN field', async () => {
    const pin = document.createElement('input');
    pin.id = 'the-pin';
    document.body.append(pin);
    const ondecide = vi.fn();
    renderWithApp(LastTryQuestion, { question: 'Ultimo tentativo. Continuare?', testid: 'q', pinField: 'the-pin', ondecide }, stubBackend({}));
    expect(screen.getByRole('alertdialog', { name: 'Ultimo tentativo. Continuare?' })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByTestId('q-cancel')).toHaveFocus());
    await fireEvent.click(screen.getByTestId('q-cancel'));
    expect(ondecide).toHaveBeenCalledWith(false);
    await waitFor(() => expect(pin).toHaveFocus());
    await fireEvent.click(screen.getByTestId('q-continue'));
    expect(ondecide).toHaveBeenLastCalledWith(true);
    expect(ondecide).toHaveBeenCalledTimes(2);
    pin.remove();
  });

  test('speaks English', () => {
    renderWithApp(LastTryQuestion, { question: 'Last try?', pinField: 'pin', ondecide: () => {} }, stubBackend({}), 'en');
    expect(screen.getByTestId('last-try-continue')).toHaveTextContent('Continue');
    expect(screen.getByTestId('last-try-cancel')).toHaveTextContent('Cancel');
  });
});

describe('ReaderList', () => {
  const reader = (name: string, card_label: string | null): ReaderView => ({ name, card: card_label ? 'cns' : 'none', card_label, atr: card_label ? '3B' : null, busy: false, link: 'contact' });
  const detail = createRawSnippet((r: () => ReaderView) => ({ render: () => `<span data-testid="detail">${r().card_label ?? '-'}</span>` }));

  test('one radio per reader, named by the heading, with the step\'s detail', () => {
    renderWithApp(
      ReaderList,
      { update: { readers: [reader('A', 'STIncard'), reader('B', null)], error: null }, selected: 'A', heading: 'Lettore e carta', name: 'r', detail },
      stubBackend({}),
    );
    expect(screen.getByRole('heading', { level: 2, name: 'Lettore e carta' })).toBeInTheDocument();
    const group = screen.getByRole('group', { name: 'Lettore e carta' });
    expect(group.querySelectorAll('input[type=radio][name=r]')).toHaveLength(2);
    expect(screen.getByRole('radio', { name: /A/ })).toBeChecked();
    expect(screen.getAllByTestId('detail').map((e) => e.textContent)).toEqual(['STIncard', '-']);
  });

  test('says when there is no reader, or what the watcher failed with', () => {
    const { unmount } = renderWithApp(ReaderList, { update: { readers: [], error: null }, selected: null, heading: 'Lettori', name: 'r', level: 3, detail }, stubBackend({}));
    expect(screen.getByRole('heading', { level: 3 })).toHaveTextContent('Lettori');
    expect(screen.getByTestId('no-readers')).toBeInTheDocument();
    unmount();
    renderWithApp(
      ReaderList,
      { update: { readers: [], error: { code: 'pcsc.down', message_it: 'Servizio smart card fermo', message_en: 'Smart card service stopped' } }, selected: null, heading: 'Lettori', name: 'r', detail },
      stubBackend({}),
      'en',
    );
    expect(screen.getByTestId('readers-error')).toHaveTextContent('Smart card service stopped');
  });
});

describe('Field', () => {
  test('its hint and its error are read with the input', () => {
    renderWithApp(Field, { id: 'f', label: 'Cellulare', hint: 'Solo per l\'identificazione', error: 'Numero non valido' }, stubBackend({}));
    const input = screen.getByLabelText('Cellulare');
    expect(input).toHaveAttribute('aria-describedby', 'f-hint f-error');
    expect(input).toHaveAccessibleDescription("Solo per l'identificazione Numero non valido");
  });
});
