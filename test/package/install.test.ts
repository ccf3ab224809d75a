// Installing from the repository, as a user does before the package is on a registry: a fresh
// copy of the tracked files (no dist/) is packed with `npm pack`, which must build dist/ by
// itself (`prepare`), and the tarball is then installed into a scratch TypeScript project with
// `moduleResolution: "node10"`, where every import path must resolve to its real types.
import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../../', import.meta.url));
const modules = realpathSync(path.join(repo, 'node_modules'));
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
/** Every published import path but `package.json`: `resilient-ws`, `resilient-ws/react`, … */
const importPaths = Object.keys(pkg.exports)
  .filter((k) => !k.endsWith('.json'))
  .map((k) => `resilient-ws${k.slice(1)}`);

let tmp: string;
/** What `npm pack` put in the tarball. */
let files: string[];
let scratch: string;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(tmpdir(), 'resilient-ws-install-'));
  // A fresh clone: the files git tracks (and new ones it would), never a built dist/.
  const clone = path.join(tmp, 'clone');
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: repo,
    maxBuffer: 1 << 24,
  });
  for (const f of stdout.split('\0')) {
    if (f === '' || f === 'node_modules' || f.startsWith('dist/')) continue;
    try {
      cpSync(path.join(repo, f), path.join(clone, f), { recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted but not yet committed
    }
  }
  symlinkSync(modules, path.join(clone, 'node_modules'));
  const out = path.join(tmp, 'out');
  mkdirSync(out);
  const packed = await run('npm', ['pack', '--json', '--pack-destination', out], { cwd: clone, maxBuffer: 1 << 24 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
    filename: string;
    files: { path: string }[];
  }[];
  files = info!.files.map((f) => f.path);

  // The scratch app: the tarball unpacked as node_modules/resilient-ws, next to the packages
  // its types import (react) and TypeScript's own.
  scratch = path.join(tmp, 'app');
  const installed = path.join(scratch, 'node_modules/resilient-ws');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['xzf', path.join(out, info!.filename), '-C', installed, '--strip-components=1']);
  mkdirSync(path.join(scratch, 'node_modules/@types'));
  for (const dep of ['react', '@types/react', 'csstype'])
    symlinkSync(path.join(modules, dep), path.join(scratch, 'node_modules', dep));
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack on a fresh copy of the repository', () => {
  it('builds dist/ by itself and ships it, with the LICENSE', () => {
    expect(files).toContain('LICENSE');
    expect(files).toContain('README.md');
    for (const name of ['index', 'react', 'delivery', 'request'])
      for (const ext of ['mjs', 'cjs', 'd.ts', 'd.cts']) expect(files).toContain(`dist/${name}.${ext}`);
    expect(files).toContain('dist/resilient-ws.min.js');
  });

  it('ships no sources or tests', () => {
    expect(files.filter((f) => /^(src|test|demo|bench)\//.test(f))).toEqual([]);
  });

  it('ships an MIT LICENSE for the contributors', () => {
    const text = readFileSync(path.join(scratch, 'node_modules/resilient-ws/LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License/);
    expect(text).toContain('Copyright (c) 2026 resilient-ws contributors');
  });
});

describe('types under moduleResolution node10', () => {
  const tsc = (project: string) =>
    run(process.execPath, [path.join(modules, 'typescript/bin/tsc'), '-p', project], { cwd: scratch }).then(
      () => '',
      (e: { stdout: string }) => e.stdout,
    );

  it('resolves every import path of the installed tarball to its types', async () => {
    writeFileSync(
      path.join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'commonjs',
          moduleResolution: 'node10',
          ignoreDeprecations: '6.0',
          target: 'ES2020',
          lib: ['ES2022', 'DOM'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
          jsx: 'react-jsx',
        },
        files: ['app.ts'],
      }),
    );
    // Each import must resolve (an unresolved or untyped one is an error under `strict`), and
    // each `@ts-expect-error` fails if its import were `any`: the real types are in use.
    writeFileSync(
      path.join(scratch, 'app.ts'),
      `${importPaths.map((p, i) => `import * as m${i} from '${p}';\nexport const e${i} = m${i};`).join('\n')}
import { WebSocketClient } from 'resilient-ws';
import { delivery } from 'resilient-ws/delivery';
import { useMessage } from 'resilient-ws/react';
import { request } from 'resilient-ws/request';

type Msg = { type: 'a'; n: number };
const client = new WebSocketClient<Msg, Msg>({ url: 'ws://x', autoConnect: false });
// @ts-expect-error: 'b' is not a message type of the client
client.on('b', () => {});
// @ts-expect-error: unacked is a number
export const unacked: string = delivery(client).unacked;
// @ts-expect-error: not a message the client sends
export const reply = request(client, { type: 'b' });
// @ts-expect-error: 'b' is not a message type of the client
export const hook = () => useMessage('b', () => {}, client);
`,
    );
    expect(await tsc('tsconfig.json')).toBe('');
  });
});
