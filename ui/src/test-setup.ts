import '@testing-library/jest-dom/vitest';
// Unmounts every component after each test.
import '@testing-library/svelte/vitest';
