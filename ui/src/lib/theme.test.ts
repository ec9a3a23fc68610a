// The colours of both themes (app.css): the focus ring contrasts at least 3:1 with every
// surface it is drawn on (WCAG 2.2, 1.4.11), and body text at least 4.5:1 (1.4.3).
import { describe, expect, test } from 'vitest';

// Read from disk: the test runner hands stylesheets to components as empty modules. The
// module name is built so the UI's type check (no Node types) does not resolve it.
const fs = (await import(/* @vite-ignore */ `node:${'fs'}`)) as { readFileSync(path: string, encoding: 'utf8'): string };
const css = fs.readFileSync('src/app.css', 'utf8');

function variables(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{3,6})\s*;/g)].map((m) => [m[1]!, m[2]!]));
}

const light = variables(css.slice(css.indexOf(':root {'), css.indexOf('}', css.indexOf(':root {'))));
const darkStart = css.indexOf('@media (prefers-color-scheme: dark)');
const dark = { ...light, ...variables(css.slice(darkStart, css.indexOf('}', css.indexOf(':root {', darkStart)))) };

function luminance(hex: string): number {
  const h = hex.length === 4 ? hex.slice(1).split('').map((c) => c + c).join('') : hex.slice(1);
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(h.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

describe('themes', () => {
  test('both themes are defined, and the dark one follows the system', () => {
    expect(darkStart).toBeGreaterThan(0);
    expect(dark.bg).not.toBe(light.bg);
    expect(css).toContain('color-scheme: light dark');
  });

  for (const [name, theme] of [['light', light], ['dark', dark]] as const) {
    test(`${name}: the focus ring contrasts 3:1 with every surface`, () => {
      for (const surface of ['bg', 'surface', 'surface-2', 'tint']) {
        expect(contrast(theme.focus!, theme[surface]!), `${theme.focus} on ${surface}`).toBeGreaterThanOrEqual(3);
      }
    });

    test(`${name}: text contrasts 4.5:1`, () => {
      for (const [ink, surface] of [
        ['ink', 'bg'],
        ['ink', 'surface'],
        ['muted', 'surface'],
        ['muted', 'surface-2'],
        ['accent-ink', 'surface'],
        ['accent-ink', 'tint'],
        ['link', 'surface'],
        ['danger-ink', 'danger-bg'],
        ['warn-ink', 'warn-bg'],
        ['ok-ink', 'ok-bg'],
        ['ok-ink', 'surface'],
      ] as const) {
        expect(contrast(theme[ink]!, theme[surface]!), `${ink} on ${surface}`).toBeGreaterThanOrEqual(4.5);
      }
    });
  }

  test('on the blue bar the ring is yellow, 3:1 against the blue', () => {
    expect(css).toContain('.topbar { --focus: #ffbf47; }');
    expect(contrast('#ffbf47', light.blue!)).toBeGreaterThanOrEqual(3);
  });
});
