import { screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, test, vi } from 'vitest';
import Shell from './Shell.svelte';
import Settings from './settings/Settings.svelte';
import type { Reminder, ReminderSettings, Settings as AppSettings } from './backend';
import { MARIO, mailbox } from './fixtures';
import { messages } from './i18n';
import { failure, renderWithApp, stubBackend, type Script } from './stub-backend';

const DEFAULTS: ReminderSettings = {
  mailbox_expiry: true,
  registry_deadline: true,
  identity_outcome: true,
  backup_finished: true,
  expiry_days_before: 30,
  autostart: false,
  tray: false,
};

function settings(reminders: ReminderSettings = DEFAULTS): AppSettings {
  return { language: 'it', provider_url: null, last_account: null, release_feed_url: null, backup_servers: {}, reminders };
}

function reminder(over: Partial<Reminder> = {}): Reminder {
  return {
    key: `expiry:${MARIO}:2027-10-03`,
    kind: 'mailbox_expiry',
    due_at: '2027-09-02T22:00:00Z',
    title_it: 'Casella PEC in scadenza',
    title_en: 'PEC mailbox expiring',
    body_it: `${MARIO} scade il 3 ottobre 2027: rinnovala per non perderla.`,
    body_en: `${MARIO} expires on 3 October 2027: renew it to keep it.`,
    target: { screen: 'renewal', address: MARIO },
    ...over,
  };
}

function renderSettings(over: Script = {}, lang: 'it' | 'en' = 'it') {
  const backend = stubBackend({
    settingsGet: settings(),
    reminderList: { recent: [], upcoming: [reminder()] },
    settingsSetReminders: (r: ReminderSettings) => settings(r),
    ...over,
  });
  const onopen = vi.fn();
  renderWithApp(Settings, { onopen }, backend, lang);
  return { backend, onopen };
}

describe('Settings', () => {
  test('shows the saved choices: every reminder on, 30 days, autostart and tray off', async () => {
    renderSettings();
    const m = messages.it;
    expect(await screen.findByLabelText(m.settingsMailboxExpiry)).toBeChecked();
    expect(screen.getByLabelText(m.settingsRegistryDeadline)).toBeChecked();
    expect(screen.getByLabelText(m.settingsIdentityOutcome)).toBeChecked();
    expect(screen.getByLabelText(m.settingsBackupFinished)).toBeChecked();
    expect(screen.getByLabelText(m.settingsExpiryDays)).toHaveValue(30);
    expect(screen.getByLabelText(m.settingsAutostart)).not.toBeChecked();
    expect(screen.getByLabelText(m.settingsTray)).not.toBeChecked();
  });

  test('saves what was changed, through Rust, and says so', async () => {
    const user = userEvent.setup();
    const { backend } = renderSettings();
    const m = messages.it;
    await user.click(await screen.findByLabelText(m.settingsIdentityOutcome));
    await user.click(screen.getByLabelText(m.settingsAutostart));
    await user.click(screen.getByLabelText(m.settingsTray));
    const days = screen.getByLabelText(m.settingsExpiryDays);
    await user.clear(days);
    await user.type(days, '7');
    await user.click(screen.getByRole('button', { name: m.settingsSave }));
    expect(await screen.findByTestId('settings-saved')).toHaveTextContent(m.settingsSaved);
    expect(backend.mock('settingsSetReminders')).toHaveBeenCalledWith({
      ...DEFAULTS,
      identity_outcome: false,
      autostart: true,
      tray: true,
      expiry_days_before: 7,
    });
  });

  test('a refusal from Rust is shown and nothing claims to be saved', async () => {
    const user = userEvent.setup();
    renderSettings({ settingsSetReminders: failure('reminders.days_out_of_range', 'Indica un numero di giorni tra 1 e 90.') });
    const days = await screen.findByLabelText(messages.it.settingsExpiryDays);
    await user.clear(days);
    await user.type(days, '120');
    await user.click(screen.getByRole('button', { name: messages.it.settingsSave }));
    const alert = await screen.findByTestId('settings-error');
    expect(alert).toHaveTextContent('Indica un numero di giorni tra 1 e 90.');
    expect(alert).toHaveFocus();
    expect(screen.queryByTestId('settings-saved')).toBeNull();
  });

  test('each reminder opens its screen; a backup’s opens its folder from Rust', async () => {
    const user = userEvent.setup();
    const backup = reminder({
      key: 'backup:x',
      kind: 'backup_finished',
      title_it: 'Salvataggio completato',
      target: { screen: 'backup_folder', address: MARIO, folder: 'folder-3' },
    });
    const registry = reminder({ key: 'registry:chg-1', kind: 'registry_deadline', title_it: 'Conferma la nuova PEC entro oggi', target: { screen: 'registry' } });
    const identity = reminder({ key: 'identity:7', kind: 'identity_outcome', title_it: 'Documenti richiesti', target: { screen: 'identity', address: MARIO } });
    const { backend, onopen } = renderSettings({ reminderList: { recent: [backup, registry, identity], upcoming: [reminder()] } });
    const next = await screen.findByTestId('reminders-upcoming');
    expect(next).toHaveTextContent('Casella PEC in scadenza');
    expect(next).toHaveTextContent('3 ottobre 2027');
    await user.click(within(next).getByRole('button', { name: messages.it.settingsOpen }));
    expect(onopen).toHaveBeenLastCalledWith({ kind: 'renewal', address: MARIO });
    const recent = within(screen.getByTestId('reminders-recent')).getAllByTestId('reminder');
    await user.click(within(recent[1]!).getByRole('button'));
    expect(onopen).toHaveBeenLastCalledWith({ kind: 'registry' });
    await user.click(within(recent[2]!).getByRole('button'));
    expect(onopen).toHaveBeenLastCalledWith({ kind: 'wizard', address: MARIO, resume: null });
    await user.click(within(recent[0]!).getByRole('button'));
    await waitFor(() => expect(backend.mock('backupOpenFolder')).toHaveBeenCalledWith('folder-3'));
    expect(onopen).toHaveBeenCalledTimes(3);
  });

  test('in English', async () => {
    renderSettings({}, 'en');
    const m = messages.en;
    expect(await screen.findByRole('heading', { name: m.settingsHeading, level: 1 })).toBeInTheDocument();
    expect(screen.getByLabelText(m.settingsTray)).toBeInTheDocument();
    expect(screen.getByTestId('reminders-upcoming')).toHaveTextContent('PEC mailbox expiring');
    expect(screen.getByTestId('reminders-recent-none')).toHaveTextContent(m.settingsNone);
  });
});

describe('Shell and reminders', () => {
  function account(over: Script = {}) {
    return stubBackend({
      mailboxList: [mailbox(MARIO), mailbox('studio.rossi@pec.sandbox.test')],
      notificationList: [],
      mailboxExpiries: [],
      draftLoad: null,
      settingsGet: settings(),
      reminderList: { recent: [], upcoming: [] },
      ...over,
    });
  }

  test('the settings screen is one click away in the services', async () => {
    const user = userEvent.setup();
    renderWithApp(Shell, { account: 'acc-demo-mario', onsignout: vi.fn() }, account(), 'it');
    await user.click(await screen.findByTestId('nav-settings'));
    expect(await screen.findByRole('heading', { name: messages.it.settingsHeading, level: 1 })).toBeInTheDocument();
    expect(screen.getByTestId('nav-settings')).toHaveAttribute('aria-current', 'page');
  });

  test('a reminder clicked outside the window opens its screen when the window comes forward', async () => {
    const backend = account({ reminderTakeOpen: [null, { screen: 'registry' }, null] });
    renderWithApp(Shell, { account: 'acc-demo-mario', onsignout: vi.fn() }, backend, 'it');
    await screen.findByTestId(`mailbox-${MARIO}`);
    expect(screen.queryByTestId('registry')).toBeNull();
    window.dispatchEvent(new Event('focus'));
    expect(await screen.findByTestId('registry')).toBeInTheDocument();
  });
});
