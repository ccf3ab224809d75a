import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { transform } from 'esbuild';
import { dts } from 'rollup-plugin-dts';
import esbuild from 'rollup-plugin-esbuild';

// Library entries published for bundlers: readable code, `react` and `vue` stay imports,
// and the add-ons import the core as `resilient-ws`, so an app never holds two clients. Each
// entry is built three times (see `builds`); package.json's `exports` gives each its
// `development` and `production` conditions (test/package/conditions.test.ts checks both).
const entries = ['index', 'react', 'vue', 'delivery', 'request', 'shared', 'outbox', 'channels', 'fallback'];
const external = ['react', 'vue', 'resilient-ws', 'resilient-ws/channels'];
const ts = () => esbuild({ target: 'es2021' });
// The source writes its development-only code behind `__DEV__` (declared in src/env.d.ts).
// Each output replaces it. The npm files, per entry: `x.development.*` with `true` (checks on,
// for the `development` export condition), `x.production.*` with `false` (the checks and
// their texts are gone, for `production`), and the default `x.*` with the check below, left to
// the app's bundler or Node (a bundler folds `process.env.NODE_ENV`; `typeof process` keeps a
// browser's unbundled import from a ReferenceError). A `<script>` build decides here:
// production for the minified builds, development for `resilient-ws.dev.js`.
const DEV_CHECK = "(typeof process < 'u' && process.env.NODE_ENV !== 'production')";
const builds = [
  ['', DEV_CHECK],
  ['.development', true],
  ['.production', false],
];
const mode = (dev) => ({
  name: 'development-check',
  transform(code, id) {
    if (id.includes('/src/')) return { code: code.replace(/\b__DEV__\b/g, String(dev)), map: null };
  },
  renderChunk(code) {
    if (dev !== DEV_CHECK && /\bprocess\b/.test(code))
      throw new Error('a development or production build still refers to `process`');
  },
});
// Private members are named `_x` in the source; renaming them to a letter or two is safe (no
// code outside a bundle may touch them) and is most of what keeps the core within its budget.
const mangle = { properties: { regex: /^_/ } };
const min = () => terser({ compress: { passes: 2 }, mangle, format: { comments: false } });
// The npm builds stay readable: names and layout as written; only the `_` names are shortened,
// over the whole chunk at once, so every use of a name gets the same short one.
const shorten = () => ({
  name: 'shorten-private-names',
  async renderChunk(code, _chunk, { format }) {
    const out = await transform(code, { format: format === 'es' ? 'esm' : 'cjs', mangleProps: /^_/ });
    return out.code;
  },
});

export default [
  ...entries.flatMap((name) =>
    builds.map(([suffix, dev]) => {
      // React Server Components need the directive as the file's first line; rollup drops
      // module-level directives, so it is put back as a banner.
      const banner = name === 'react' ? "'use client';" : undefined;
      return {
        input: `src/${name}.ts`,
        external,
        plugins: [mode(dev), ts()],
        onwarn(w, warn) {
          if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
        },
        output: [
          { file: `dist/${name}${suffix}.mjs`, format: 'es', banner, plugins: [shorten()] },
          { file: `dist/${name}${suffix}.cjs`, format: 'cjs', banner, plugins: [shorten()] },
        ],
      };
    }),
  ),
  ...entries.map((name) => ({
    input: `src/${name}.ts`,
    external,
    plugins: [dts()],
    output: [
      { file: `dist/${name}.d.ts`, format: 'es' },
      { file: `dist/${name}.d.cts`, format: 'es' },
    ],
  })),
  // CDN builds: self-contained, minified, production.
  {
    input: 'src/browser.ts',
    plugins: [mode(false), resolve(), ts()],
    output: { file: 'dist/resilient-ws.min.js', format: 'iife', name: 'ResilientWS', plugins: [min()] },
  },
  {
    input: 'src/index.ts',
    plugins: [mode(false), resolve(), ts()],
    output: { file: 'dist/resilient-ws.esm.min.js', format: 'es', plugins: [min()] },
  },
  // The same global with the development diagnostics, readable: for a page under development.
  {
    input: 'src/browser.ts',
    plugins: [mode(true), resolve(), ts()],
    output: { file: 'dist/resilient-ws.dev.js', format: 'iife', name: 'ResilientWS', plugins: [shorten()] },
  },
  // The opt-in modules for a <script> tag, after the core: they join the `ResilientWS` global.
  {
    input: 'src/extras.ts',
    external: ['resilient-ws'],
    plugins: [mode(false), ts()],
    output: {
      file: 'dist/resilient-ws.extras.min.js',
      format: 'iife',
      name: 'ResilientWS',
      extend: true,
      globals: { 'resilient-ws': 'ResilientWS' },
      plugins: [min()],
    },
  },
  // One connection for all tabs, for a <script> tag after the core: `ResilientWS.sharedClient`.
  {
    input: 'src/shared.ts',
    external: ['resilient-ws'],
    plugins: [mode(false), ts()],
    output: {
      file: 'dist/resilient-ws.shared.min.js',
      format: 'iife',
      name: 'ResilientWS',
      extend: true,
      globals: { 'resilient-ws': 'ResilientWS' },
      plugins: [min()],
    },
  },
  // The HTTP fallback, for a <script> tag after the core: `ResilientWS.fallback`.
  {
    input: 'src/fallback.ts',
    external: ['resilient-ws'],
    plugins: [mode(false), ts()],
    output: {
      file: 'dist/resilient-ws.fallback.min.js',
      format: 'iife',
      name: 'ResilientWS',
      extend: true,
      globals: { 'resilient-ws': 'ResilientWS' },
      plugins: [min()],
    },
  },
  // Channels, for a <script> tag after the core: `ResilientWS.channels` and `ResilientWS.tokenRefresh`.
  {
    input: 'src/channels.ts',
    external: ['resilient-ws'],
    plugins: [mode(false), ts()],
    output: {
      file: 'dist/resilient-ws.channels.min.js',
      format: 'iife',
      name: 'ResilientWS',
      extend: true,
      globals: { 'resilient-ws': 'ResilientWS' },
      plugins: [min()],
    },
  },
];
