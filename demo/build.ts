/**
 * Bundles the demo pages' scripts into `demo/dist/` with esbuild (no CDN at run time):
 *
 * - `plain.js`: IIFE; uses the global `ResilientWS` from `/dist/resilient-ws.min.js` and does
 *   not bundle the SDK (its imports of it are type-only).
 * - `react.js`: IIFE with React, react-dom and the *built* package (`dist/index.mjs`,
 *   `dist/react.mjs`) bundled; `NODE_ENV` is "development" so StrictMode double-mounts.
 * - `vue.js`: IIFE with Vue's runtime (no template compiler) and the built package
 *   (`dist/vue.mjs`) bundled; development build, so Vue's warnings reach the console.
 *
 * Run after `npm run build`:  tsx demo/build.ts
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';

const demoDir = path.dirname(fileURLToPath(import.meta.url));
const repoDir = path.resolve(demoDir, '..');
const outdir = path.join(demoDir, 'dist');
const dist = (file: string): string => path.join(repoDir, 'dist', file);

const common: BuildOptions = {
  absWorkingDir: repoDir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  outdir,
  sourcemap: true,
  logLevel: 'warning',
  charset: 'utf8',
};

export async function buildDemo(): Promise<void> {
  const missing = [
    'index.mjs',
    'react.mjs',
    'vue.mjs',
    'delivery.mjs',
    'request.mjs',
    'outbox.mjs',
    'resilient-ws.min.js',
    'resilient-ws.extras.min.js',
    'shared.mjs',
    'resilient-ws.shared.min.js',
  ].filter((f) => !existsSync(dist(f)));
  if (missing.length > 0) {
    throw new Error(`dist/${missing.join(', dist/')} missing: run \`npm run build\` first`);
  }

  const plain = build({
    ...common,
    entryPoints: { plain: path.join(demoDir, 'pages/plain.ts') },
    // The SDK comes from the <script> build; importing it here would be a bug.
    external: ['resilient-ws', 'resilient-ws/*'],
    metafile: true,
  });

  const react = build({
    ...common,
    entryPoints: { react: path.join(demoDir, 'pages/react.tsx') },
    jsx: 'automatic',
    alias: {
      'resilient-ws': dist('index.mjs'),
      'resilient-ws/react': dist('react.mjs'),
      'resilient-ws/channels': dist('channels.mjs'),
      'resilient-ws/delivery': dist('delivery.mjs'),
      'resilient-ws/request': dist('request.mjs'),
      'resilient-ws/shared': dist('shared.mjs'),
      'resilient-ws/outbox': dist('outbox.mjs'),
    },
    define: { 'process.env.NODE_ENV': '"development"' },
    metafile: true,
  });

  const vue = build({
    ...common,
    entryPoints: { vue: path.join(demoDir, 'pages/vue.ts') },
    alias: {
      'resilient-ws': dist('index.mjs'),
      'resilient-ws/vue': dist('vue.mjs'),
      'resilient-ws/channels': dist('channels.mjs'),
      'resilient-ws/delivery': dist('delivery.mjs'),
      'resilient-ws/request': dist('request.mjs'),
    },
    define: {
      'process.env.NODE_ENV': '"development"',
      __VUE_OPTIONS_API__: 'false',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    },
    metafile: true,
  });

  const [p, r, v] = await Promise.all([plain, react, vue]);
  const inputs = (m: typeof p.metafile): string[] => Object.keys(m?.inputs ?? {});
  if (inputs(p.metafile).some((f) => f.startsWith('src/') || f.startsWith('dist/'))) {
    throw new Error('plain.js must not bundle the SDK');
  }
  const sdk = inputs(r.metafile).filter((f) => f.startsWith('dist/') || f.startsWith('src/'));
  if (!sdk.includes('dist/index.mjs') || !sdk.includes('dist/react.mjs') || sdk.some((f) => f.startsWith('src/'))) {
    throw new Error(`react.js must bundle the built package (dist/index.mjs, dist/react.mjs); got ${sdk.join(', ')}`);
  }
  const vueSdk = inputs(v.metafile).filter((f) => f.startsWith('dist/') || f.startsWith('src/'));
  if (!vueSdk.includes('dist/vue.mjs') || vueSdk.some((f) => f.startsWith('src/'))) {
    throw new Error(`vue.js must bundle the built package (dist/index.mjs, dist/vue.mjs); got ${vueSdk.join(', ')}`);
  }
  console.log(`demo pages built into ${path.relative(repoDir, outdir)}/ (plain.js, react.js, vue.js)`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildDemo().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
