import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The app window loads the built files from the Tauri asset protocol, so the build must
// not rely on a dev server, inline scripts or eval: the CSP in tauri.conf.json forbids them.
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: '127.0.0.1' },
  build: {
    target: 'safari15',
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Inlined assets would arrive as data: URIs for scripts, which the CSP blocks.
    assetsInlineLimit: 0,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test-setup.ts'],
  },
  // Component tests mount Svelte's browser build into jsdom.
  resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
}));
