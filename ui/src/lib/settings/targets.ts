// Where a reminder leads: the screen of the shell it opens, or the backup's folder, which
// Rust opens in the file manager (the page never names a path).
import type { Backend, ReminderTarget } from '../backend';
import type { Screen } from '../screen';

/** The shell's screen for `target`; `null` for a backup folder (opened by Rust instead). */
export function screenFor(target: ReminderTarget): Screen | null {
  switch (target.screen) {
    case 'renewal':
      return { kind: 'renewal', address: target.address };
    case 'registry':
      return { kind: 'registry' };
    case 'identity':
      return { kind: 'wizard', address: target.address, resume: null };
    case 'backup_folder':
      return null;
  }
}

/** Follows `target`: the screen to show, after opening a backup's folder if that is where it leads. */
export async function follow(backend: Backend, target: ReminderTarget): Promise<Screen | null> {
  if (target.screen === 'backup_folder') {
    await backend.backupOpenFolder(target.folder);
    return null;
  }
  return screenFor(target);
}

/** The screen a reminder picked outside the window (notification, tray) asks for, once. */
export async function pendingScreen(backend: Backend): Promise<Screen | null> {
  const target = await backend.reminderTakeOpen();
  return target ? follow(backend, target) : null;
}
