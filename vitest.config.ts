import { defineConfig } from 'vitest/config';

// One project per package plus the cross-component suites (STYLE.md §22).
// Integration suites start real processes (kernels, gateways, Docker), so they get
// longer timeouts and run their files one at a time to stay within 2 cores.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'kernel-gateway',
          root: 'kernel-gateway',
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000
        }
      },
      {
        test: {
          name: 'server',
          root: 'server',
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000
        }
      },
      {
        test: {
          name: 'integration',
          root: 'test',
          include: ['integration/**/*.test.ts'],
          globalSetup: ['utils/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false
        }
      },
      {
        // Console logic (pure TypeScript; the DOM parts are covered by e2e).
        test: {
          name: 'web',
          root: 'web',
          include: ['test/**/*.test.ts']
        }
      },
      {
        // Real Chromium (Debian's) driven by playwright-core against a built gateway.
        test: {
          name: 'e2e',
          root: 'test',
          include: ['e2e/**/*.e2e.test.ts'],
          globalSetup: ['e2e/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 300_000,
          fileParallelism: false
        }
      }
    ]
  }
});
