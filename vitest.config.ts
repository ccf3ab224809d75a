import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const alias = {
  'resilient-ws/react': fileURLToPath(new URL('./src/react.ts', import.meta.url)),
  'resilient-ws/vue': fileURLToPath(new URL('./src/vue.ts', import.meta.url)),
  'resilient-ws/delivery': fileURLToPath(new URL('./src/delivery.ts', import.meta.url)),
  'resilient-ws/request': fileURLToPath(new URL('./src/request.ts', import.meta.url)),
  'resilient-ws/shared': fileURLToPath(new URL('./src/shared.ts', import.meta.url)),
  'resilient-ws/outbox': fileURLToPath(new URL('./src/outbox.ts', import.meta.url)),
  'resilient-ws/fallback': fileURLToPath(new URL('./src/fallback.ts', import.meta.url)),
  'resilient-ws/channels': fileURLToPath(new URL('./src/channels.ts', import.meta.url)),
  'resilient-ws': fileURLToPath(new URL('./src/index.ts', import.meta.url)),
};

// The source's development-only code (`__DEV__`, see src/env.d.ts) runs in the tests. A new
// object for each config: vitest moves the entries out of the object it is given.
const dev = () => ({ __DEV__: 'true' });

export default defineConfig({
  resolve: { alias },
  define: dev(),
  test: {
    // Two test files at a time, of any project: most of the suite waits on sockets, timers and
    // browsers rather than computing, and vitest's default on two cores is one file at a time.
    // `RWS_WORKERS=1` runs one at a time.
    maxWorkers: Number(process.env.RWS_WORKERS) || 2,
    projects: [
      {
        resolve: { alias },
        define: dev(),
        test: {
          name: 'unit',
          environment: 'happy-dom',
          include: ['test/unit/**/*.test.{ts,tsx}'],
          typecheck: { enabled: true, include: ['test/types/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        resolve: { alias },
        define: dev(),
        test: {
          name: 'integration',
          environment: 'node',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        define: dev(),
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
      {
        // A small app against the packed package, built by real bundlers (Vite, webpack) in
        // development and production, loaded in Chromium. Needs dist/ (`npm run build`).
        define: dev(),
        test: {
          name: 'bundlers',
          environment: 'node',
          include: ['test/bundlers/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        define: dev(),
        // The docs: links, figures, and the README's quick start and examples run as written.
        test: {
          name: 'docs',
          environment: 'node',
          include: ['test/docs/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      // The browser suite, once per engine (test/browser/driver.ts): the same files, the engine
      // set by RWS_ENGINE. Each file starts its own browser and servers on free ports.
      ...(['chromium', 'firefox', 'webkit'] as const).map((engine) => ({
        define: dev(),
        test: {
          name: `browser-${engine}`,
          environment: 'node',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: ['test/browser/global-setup.ts'],
          env: { RWS_ENGINE: engine },
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      })),
    ],
  },
});
