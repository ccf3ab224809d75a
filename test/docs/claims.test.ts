// What the guides state about the built package, checked where it is cheap: what each
// `<script>` build puts on the `ResilientWS` global, which TypeScript settings resolve the
// types, and the `backoff` example's numbers.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { codeBlocks, read, root } from './markdown';

const dist = (file: string) => join(root, 'dist', file);

/** The names each `<script>` build adds to `ResilientWS`, loaded in order in one context. */
const globals = (...files: string[]): string[][] => {
  const context: Record<string, unknown> = {};
  context.globalThis = context;
  context.window = context;
  const seen: string[][] = [];
  let before: string[] = [];
  for (const f of files) {
    runInNewContext(readFileSync(dist(f), 'utf8'), context, { filename: f });
    const now = Object.keys((context.ResilientWS as object | undefined) ?? {}).sort();
    seen.push(now.filter((k) => !before.includes(k)));
    before = now;
  }
  return seen;
};

describe('the <script> builds, as docs/install.md lists them', () => {
  const install = read('docs/install.md');

  it('the core adds WebSocketClient, WebSocketClientError and backoff; extras adds delivery, request and outbox; shared adds sharedClient; fallback adds fallback', () => {
    const [core, extras] = globals('resilient-ws.min.js', 'resilient-ws.extras.min.js');
    expect(core).toEqual(['WebSocketClient', 'WebSocketClientError', 'backoff']);
    expect(extras).toEqual(['delivery', 'outbox', 'request']);
    expect(globals('resilient-ws.min.js', 'resilient-ws.shared.min.js')[1]).toEqual(['SharedClient', 'sharedClient']);
    expect(globals('resilient-ws.min.js', 'resilient-ws.fallback.min.js')[1]).toEqual(['fallback']);
    expect(install).toMatch(/`dist\/resilient-ws\.fallback\.min\.js`\s*\|[^|\n]*adds `fallback`/);
    expect(install).toMatch(/`dist\/resilient-ws\.extras\.min\.js`\s*\|[^|\n]*`delivery`, `request` and `outbox`/);
    expect(install).toMatch(
      /`dist\/resilient-ws\.shared\.min\.js`\s*\|[^|\n]*`sharedClient` \(and its class, `SharedClient`\)/,
    );
    expect(install).toMatch(/`WebSocketClient`, `WebSocketClientError`, `backoff`/);
  });
});

describe('TypeScript settings, as docs/install.md states them', () => {
  it('lists every import path of package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    const paths = Object.keys(pkg.exports).filter((k) => !k.endsWith('.json'));
    const install = read('docs/install.md');
    for (const p of paths) expect(install).toContain(p === '.' ? '`resilient-ws`' : `\`${p.slice(1)}\``);
  });

  it('TypeScript 6 refuses moduleResolution node10 without ignoreDeprecations, and accepts it with', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rws-ts-'));
    try {
      writeFileSync(join(dir, 'a.ts'), 'export const a = 1;\n');
      const tsc = (extra: Record<string, string>) => {
        writeFileSync(
          join(dir, 'tsconfig.json'),
          JSON.stringify({
            compilerOptions: { module: 'commonjs', moduleResolution: 'node10', noEmit: true, types: [], ...extra },
            files: ['a.ts'],
          }),
        );
        return promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', dir]).then(
          () => '',
          (e: { stdout: string }) => e.stdout,
        );
      };
      const version = JSON.parse(readFileSync(join(root, 'node_modules/typescript/package.json'), 'utf8')).version;
      expect(version).toMatch(/^6\./);
      expect(await tsc({})).toMatch(/moduleResolution.*deprecated|ignoreDeprecations/is);
      expect(await tsc({ ignoreDeprecations: '6.0' })).toBe('');
      expect(read('docs/install.md')).toContain('"ignoreDeprecations": "6.0"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('backoff, as docs/migrating.md shows it', () => {
  it('gives the delays its example prints', async () => {
    const { backoff } = (await import(pathToFileURL(dist('index.mjs')).href)) as typeof import('resilient-ws');
    const block = codeBlocks(read('docs/migrating.md')).find((b) => b.code.includes('backoff(n, policy)'));
    const policy = /const policy = (\{[^}]*\})/.exec(block?.code ?? '')?.[1];
    const printed = /\/\/ (\[[\d, ]+\])/.exec(block?.code ?? '')?.[1];
    const parsed = JSON.parse((policy ?? '').replace(/(\w+):/g, '"$1":').replace(/_/g, ''));
    expect([1, 2, 3, 4, 5].map((n) => backoff(n, parsed))).toEqual(JSON.parse(printed ?? ''));
  });
});
