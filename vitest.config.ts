import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = {
  'resilient-ws/react': fileURLToPath(new URL('./src/react.ts', import.meta.url)),
  'resilient-ws/vue': fileURLToPath(new URL('./src/vue.ts', import.meta.url)),
  'resilient-ws/delivery': fileURLToPath(new URL('./src/delivery.ts', import.meta.url)),
  'resilient-ws/request': fileURLToPath(new URL('./src/request.ts', import.meta.url)),
  'resilient-ws/shared': fileURLToPath(new URL('./src/shared.ts', import.meta.url)),
  'resilient-ws/outbox': fileURLToPath(new URL('./src/outbox.ts', import.meta.url)),
  'resilient-ws': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        resolve: { alias },
        test: {
          name: 'unit',
          environment: 'happy-dom',
          include: ['test/unit/**/*.test.{ts,tsx}'],
          typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        resolve: { alias },
        test: {
          name: 'integration',
          environment: 'node',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // The BUILT package as a consumer gets it: no alias to src, and dist/ externalized so
        // Node itself loads it (and resolves the `resilient-ws` self-reference through `exports`).
        test: {
          name: 'package',
          environment: 'node',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 30_000,
          server: { deps: { external: [/\/dist\//] } },
        },
      },
      // The browser suite, once per engine (test/browser/driver.ts): the same files, the engine
      // set by RWS_ENGINE. The engines run one after the other (groupOrder), never two browsers'
      // timing-sensitive tests at once on a small machine; Chromium beside the Node suites, as before.
      ...(['chromium', 'firefox', 'webkit'] as const).map((engine, i) => ({
        test: {
          name: `browser-${engine}`,
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          env: { RWS_ENGINE: engine },
          testTimeout: 60_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          sequence: { groupOrder: i },
        },
      })),
    ],
  },
});
