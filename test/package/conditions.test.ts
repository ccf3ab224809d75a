// The `development` and `production` export conditions: every entry rollup builds has its
// three files (development, production, default) in package.json's `exports`, under `import`
// and `require`, with the types first; the production files hold none of the development
// texts, the development and production files no `process`; and Node picks them as a bundler
// does (`--conditions`), while a plain import keeps to `process.env.NODE_ENV`.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (file: string): string => readFileSync(`${root}${file}`, 'utf8');
const pkg = JSON.parse(read('package.json')) as { exports: Record<string, unknown> };
/** The entries, as rollup.config.mjs lists them (its one list). */
const entries = JSON.parse(
  /const entries = (\[[^\]]*\]);/.exec(read('rollup.config.mjs'))![1]!.replaceAll("'", '"'),
) as string[];
const subpath = (name: string): string => (name === 'index' ? '.' : `./${name}`);

/** Texts only the development files hold. */
const DEV_TEXTS = /did you mean|is not an option|must be a |does not answer pings|see on\('\?'\)|set options\./;

describe('package.json exports', () => {
  it('lists every entry rollup builds, and no other', () => {
    expect(Object.keys(pkg.exports).filter((k) => !k.endsWith('.json'))).toEqual(entries.map(subpath));
  });

  it.each(entries)('%s: types, development, production and default, for import and require', (name) => {
    for (const [kind, js, dts] of [
      ['import', 'mjs', 'd.ts'],
      ['require', 'cjs', 'd.cts'],
    ] as const) {
      const conditions = (pkg.exports[subpath(name)] as Record<string, Record<string, string>>)[kind]!;
      // order matters: a resolver takes the first condition it knows, so `types` first and
      // `default` last
      expect(conditions).toEqual({
        types: `./dist/${name}.${dts}`,
        development: `./dist/${name}.development.${js}`,
        production: `./dist/${name}.production.${js}`,
        default: `./dist/${name}.${js}`,
      });
      expect(Object.keys(conditions)).toEqual(['types', 'development', 'production', 'default']);
      for (const file of Object.values(conditions)) expect(existsSync(`${root}${file}`), file).toBe(true);
    }
  });
});

describe('the built files', () => {
  it.each(entries)('%s: the production files hold no development text, neither file `process`', (name) => {
    for (const js of ['mjs', 'cjs']) {
      const production = read(`dist/${name}.production.${js}`);
      const development = read(`dist/${name}.development.${js}`);
      expect(production).not.toMatch(DEV_TEXTS);
      expect(production).not.toMatch(/\bprocess\b|__DEV__/);
      expect(development).not.toMatch(/\bprocess\b|__DEV__/);
    }
  });

  it('the core: the development file has the checks, the default one leaves them to NODE_ENV', () => {
    expect(read('dist/index.development.mjs')).toMatch(/did you mean/);
    const plain = read('dist/index.mjs');
    expect(plain).toMatch(/did you mean/);
    expect(plain).toMatch(/process\.env\.NODE_ENV !== "production"/);
  });
});

describe('which file Node takes', () => {
  /** Constructs a client with a misspelt option in a Node process; prints the error or `accepted`. */
  const probe = async (args: string[], env: Record<string, string>, specifier = 'resilient-ws') =>
    (
      await run(
        process.execPath,
        [
          ...args,
          '--input-type=module',
          '-e',
          `const { WebSocketClient } = await import(${JSON.stringify(specifier)});
try { new WebSocketClient({ url: 'ws://127.0.0.1:9', autoConnect: false, reconect: {} }); console.log('accepted'); }
catch (e) { console.log(e.message); }`,
        ],
        { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } },
      )
    ).stdout.trim();
  const CHECKED = 'INVALID_OPTIONS: options.reconect is not an option; did you mean reconnect?';

  it('with no condition: development unless NODE_ENV is production (as before)', async () => {
    expect(await probe([], {})).toBe(CHECKED);
    expect(await probe([], { NODE_ENV: 'production' })).toBe('accepted');
  });

  it('`--conditions=development` forces the checks, `--conditions=production` drops them', async () => {
    expect(await probe(['--conditions=development'], { NODE_ENV: 'production' })).toBe(CHECKED);
    expect(await probe(['--conditions=production'], {})).toBe('accepted');
  });

  it('an add-on imports the core under the same condition (one client class)', async () => {
    const out = await run(
      process.execPath,
      [
        '--conditions=production',
        '--input-type=module',
        '-e',
        `const core = await import('resilient-ws'); const d = await import('resilient-ws/delivery');
const c = new core.WebSocketClient({ url: 'ws://127.0.0.1:9', autoConnect: false });
console.log(typeof d.delivery(c).unacked, import.meta.resolve('resilient-ws'));`,
      ],
      { cwd: root },
    );
    expect(out.stdout.trim()).toMatch(/^number file:.*\/dist\/index\.production\.mjs$/);
  });
});

describe('esbuild', () => {
  const bundle = async (options: { conditions?: string[]; define?: Record<string, string> }) =>
    (
      await build({
        stdin: { contents: `export { WebSocketClient } from 'resilient-ws';`, resolveDir: root },
        bundle: true,
        write: false,
        format: 'esm',
        platform: 'browser',
        minify: true,
        logLevel: 'silent',
        // the package as installed, through its `exports`: not the repository's paths to src/
        tsconfigRaw: '{}',
        ...options,
      })
    ).outputFiles[0]!.text;

  it('takes the production file under `production`, the development one under `development`', async () => {
    const production = await bundle({ conditions: ['production'] });
    expect(DEV_TEXTS.test(production) || /\bprocess\b/.test(production)).toBe(false);
    const development = await bundle({ conditions: ['development'] });
    expect(development.includes('did you mean')).toBe(true);
    expect(/\bprocess\b/.test(development)).toBe(false);
  });

  it('with no condition, the default file: a minified browser build defines NODE_ENV as production', async () => {
    expect(DEV_TEXTS.test(await bundle({}))).toBe(false);
    expect((await bundle({ define: { 'process.env.NODE_ENV': '"development"' } })).includes('did you mean')).toBe(true);
  });
});
