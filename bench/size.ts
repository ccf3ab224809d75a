// `npm run size`: the size budgets (size-limit, .size-limit.mjs) and the sizes the docs quote.
//
//   npm run size                fails when an entry is over its budget, or when docs/figures.json
//                               no longer holds what the build measures (the docs would be stale)
//   npm run size -- --write     stores the measured sizes in docs/figures.json and rewrites the
//                               docs' marked figures (`<!-- fig:size.core -->…<!-- /fig -->`)
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { kb, readFigures, type SizeEntry, texts, updateDocs, writeFigures } from './figures';
import { root } from './lib';

interface Measured {
  name: string;
  passed: boolean;
  size: number;
  sizeLimit: number;
}

/** The short key of a size-limit entry: `core`, `core.dev`, `react`, `script`, `script.extras`, … */
export const sizeKey = (name: string): string => {
  if (name.startsWith("import { WebSocketClient } from 'resilient-ws'"))
    return name.includes('(development)') ? 'core.dev' : 'core';
  const sub = /^resilient-ws\/([a-z-]+)/.exec(name);
  if (sub) return sub[1] as string;
  const script = /^dist\/resilient-ws\.(?:([a-z-]+)\.)?min\.js/.exec(name);
  if (script) return script[1] ? `script.${script[1]}` : 'script';
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
};

const main = async (): Promise<void> => {
  const write = process.argv.includes('--write');
  const bin = join(root, 'node_modules/.bin/size-limit');
  const { stdout, failed } = await promisify(execFile)(bin, ['--json'], { cwd: root, maxBuffer: 1 << 24 }).then(
    (r) => ({ stdout: r.stdout, failed: false }),
    (e: { stdout?: string }) => ({ stdout: e.stdout ?? '', failed: true }),
  );
  const measured = JSON.parse(stdout) as Measured[];
  const entries: SizeEntry[] = measured.map((m) => ({
    key: sizeKey(m.name),
    name: m.name,
    bytes: m.size,
    limitBytes: m.sizeLimit,
  }));
  // the readable development <script> build, gzipped: quoted, not budgeted
  const extra = { 'script.dev': gzipSync(readFileSync(join(root, 'dist/resilient-ws.dev.js'))).length };
  for (const e of entries)
    console.log(
      `${e.bytes <= e.limitBytes ? 'ok  ' : 'OVER'} ${kb(e.bytes).padStart(8)} of ${kb(e.limitBytes).padStart(8)}  ${e.name}`,
    );

  const figures = readFigures();
  const fresh = { ...figures, size: { commit: undefined, date: new Date().toISOString(), entries, extra } };
  if (write) {
    writeFigures(fresh);
    console.log(`written: docs/figures.json; docs updated: ${updateDocs(fresh).join(', ') || 'none changed'}`);
  } else {
    const stored = texts(figures);
    const stale = [...texts(fresh)]
      .filter(([k]) => k.startsWith('size.'))
      .filter(([k, v]) => stored.get(k) !== v)
      .map(([k, v]) => `${k}: measured ${v}, docs/figures.json has ${stored.get(k) ?? 'nothing'}`);
    if (stale.length) {
      console.error(`\nThe docs quote sizes the build no longer has:\n  ${stale.join('\n  ')}`);
      console.error('Run `npm run size -- --write` to store the new sizes and update the docs.');
      process.exitCode = 1;
    }
  }
  if (failed || measured.some((m) => !m.passed)) {
    console.error('\nOver budget (see .size-limit.mjs).');
    process.exitCode = 1;
  }
};

await main();
