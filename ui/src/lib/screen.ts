import type { Component } from 'svelte';

// What the shell shows: one value, so impossible combinations (the wizard and the renewal
// open at once) cannot be written down.
export type Screen =
  | { kind: 'overview' }
  | { kind: 'registry' }
  | { kind: 'settings' }
  | { kind: 'mailbox'; address: string }
  | { kind: 'wizard'; address: string; resume: Record<string, string> | null }
  | { kind: 'renewal'; address: string }
  | { kind: 'backup'; address: string };

export const OVERVIEW: Screen = { kind: 'overview' };

/** The mailbox a screen is about, if any. */
export function addressOf(screen: Screen): string | null {
  return 'address' in screen ? screen.address : null;
}

/** A page of a flow (its step's component): the pages that end the flow take its `onclose`,
 * the others take nothing. */
export type StepPage = Component<{ onclose: () => void }> | Component;
