import resolve from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { transform } from 'esbuild';
import { dts } from 'rollup-plugin-dts';
import esbuild from 'rollup-plugin-esbuild';

// Library entries published for bundlers: readable code, `react` and `vue` stay imports,
// and the add-ons import the core as `resilient-ws`, so an app never holds two clients.
const entries = ['index', 'react', 'vue', 'delivery', 'request', 'shared', 'outbox', 'channels'];
const external = ['react', 'vue', 'resilient-ws', 'resilient-ws/channels'];
const ts = () => esbuild({ target: 'es2021' });
// The development check of the source, written out in full where a diagnostic is built (a
// bundler folds `process.env.NODE_ENV` only where it is written; `typeof process` keeps a
// browser's unbundled import from a ReferenceError). The npm builds keep it for the app's
// bundler to decide; a `<script>` build decides it here: production for the minified
// builds, development for `resilient-ws.dev.js`.
const DEV_CHECK = "typeof process < 'u' && process.env.NODE_ENV !== 'production'";
const mode = (dev) => ({
  name: 'development-check',
  transform(code, id) {
    if (id.includes('/src/')) return { code: code.replaceAll(DEV_CHECK, String(dev)), map: null };
  },
  renderChunk(code) {
    // a check written another way would be left to a browser, which has no `process`
    if (/\bprocess\b/.test(code)) throw new Error('a `<script>` build still refers to `process`');
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
  ...entries.map((name) => {
    // React Server Components need the directive as the file's first line; rollup drops
    // module-level directives, so it is put back as a banner.
    const banner = name === 'react' ? "'use client';" : undefined;
    return {
      input: `src/${name}.ts`,
      external,
      plugins: [ts()],
      onwarn(w, warn) {
        if (w.code !== 'MODULE_LEVEL_DIRECTIVE') warn(w);
      },
      output: [
        { file: `dist/${name}.mjs`, format: 'es', banner, plugins: [shorten()] },
        { file: `dist/${name}.cjs`, format: 'cjs', banner, plugins: [shorten()] },
      ],
    };
  }),
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
    plugins: [ts()],
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
    plugins: [ts()],
    output: {
      file: 'dist/resilient-ws.shared.min.js',
      format: 'iife',
      name: 'ResilientWS',
      extend: true,
      globals: { 'resilient-ws': 'ResilientWS' },
      plugins: [min()],
    },
  },
];
