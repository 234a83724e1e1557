import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

// Three layers (docs/architecture.md): pure logic on Node, routes and the
// Durable Object inside workerd, and end-to-end suites with real processes.
export default defineConfig({
  test: {
    reporters: ['default', './tests/reporters/summary-line.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          environment: 'node',
          include: ['protocol/**/*.test.ts', 'functions/**/*.test.ts', 'bridge/**/*.test.ts', 'db/**/*.test.ts', 'tests/unit/**/*.test.ts'],
          exclude: ['**/*.workers.test.ts', '**/node_modules/**'],
        },
      },
      {
        plugins: [cloudflareTest({ wrangler: { configPath: './wrangler.toml' } })],
        test: {
          name: 'workers',
          include: ['tests/workers/**/*.test.ts', 'functions/**/*.workers.test.ts'],
          globalSetup: ['tests/workers/setup-providers.ts', 'tests/workers/setup-sqld.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          environment: 'node',
          include: ['tests/e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
