// `npm run bench [-- name…]`: runs each benchmark in a fresh Node process (its own heap and
// JIT state, `--expose-gc`), prints one table, writes bench/results/latest.json.
// Names: echo, echo-browser, queue, dispatch, storm (default: all). Needs `npm run build`.
// Figures that name a `client` go into the side-by-side table (one column per client), the others
// into the main table. `BENCH_QUICK=1`: one round each, to try the harness (figures meaningless).
import { execFile, execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Figure, root } from './lib';

type Result = { figures: Figure[]; details: unknown };
type Bench = () => Promise<Result>;

const BENCHES: Record<string, () => Promise<{ run: Bench }>> = {
  echo: () => import('./echo'),
  'echo-browser': () => import('./echo-browser'),
  queue: () => import('./queue'),
  dispatch: () => import('./dispatch'),
  storm: () => import('./storm'),
  fanout: () => import('./fanout'),
  burst: () => import('./burst'),
};

const MARK = '@@bench-result ';

const child = async (name: string): Promise<void> => {
  const load = BENCHES[name];
  if (!load) throw new Error(`unknown bench ${name}`);
  const result = await (await load()).run();
  process.stdout.write(`${MARK}${JSON.stringify(result)}\n`);
  process.exit(0); // a bench that leaked a handle must not hang the suite
};

const value = (f: Figure): string => `${f.value.toLocaleString('en-US')}${f.unit ? ` ${f.unit}` : ''}`;
const verdict = (f: Figure): string => (f.ok === undefined ? '' : f.ok ? 'ok' : 'MISS');

/** A markdown table; columns listed in `right` are right-aligned. */
const markdown = (rows: string[][], right: number[]): string => {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  const line = (r: string[]) =>
    `| ${widths.map((w, i) => (right.includes(i) ? (r[i] ?? '').padStart(w) : (r[i] ?? '').padEnd(w))).join(' | ')} |`;
  return [
    line(rows[0] as string[]),
    `| ${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`,
    ...rows.slice(1).map(line),
  ].join('\n');
};

const table = (figures: Figure[]): string =>
  markdown(
    [
      ['benchmark', 'metric', 'value', 'target', ''],
      ...figures.map((f) => [f.bench, f.metric, value(f), f.target ?? '', verdict(f)]),
    ],
    [2],
  );

/**
 * The side-by-side table: one row per workload (a figure's `bench`, with its unit), one column
 * per client, each cell its value, its ratio to the first client's (the raw socket) and its note;
 * the targets in the last column.
 */
const sideBySide = (figures: Figure[]): string => {
  const clients = [...new Set(figures.map((f) => f.client as string))];
  const rows = [...new Set(figures.map((f) => f.bench))].map((bench) => {
    const mine = figures.filter((f) => f.bench === bench);
    const cell = (c: string) => {
      const f = mine.find((x) => x.client === c);
      if (!f) return '';
      const ratio = f.ratio === undefined || c === clients[0] ? '' : ` (${f.ratio.toFixed(2)}×)`;
      return `${f.value.toLocaleString('en-US')}${ratio}${f.note ? ` · ${f.note}` : ''}`;
    };
    const targets = mine.filter((f) => f.target).map((f) => `${f.client} ${f.target}: ${verdict(f)}`);
    return [`${bench}, ${mine[0]?.unit}`, ...clients.map(cell), targets.join('; ')];
  });
  return markdown([['workload', ...clients, 'target'], ...rows], []);
};

const parent = async (names: string[]): Promise<void> => {
  const run = promisify(execFile);
  const results: Record<string, Result> = {};
  // how busy the machine was: figures from a shared machine say so
  const loadBefore = loadavg()[0];
  const snapshot = join(root, 'bench/results/dist');
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  for (const file of ['index.mjs', 'resilient-ws.min.js']) {
    if (!existsSync(join(root, 'dist', file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
    copyFileSync(join(root, 'dist', file), join(snapshot, file));
  }
  for (const name of names) {
    if (!BENCHES[name]) throw new Error(`unknown bench "${name}"; one of: ${Object.keys(BENCHES).join(', ')}`);
    process.stderr.write(`running ${name}… `);
    const started = performance.now();
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', name],
      {
        cwd: root,
        maxBuffer: 1 << 26,
        timeout: 600_000, // a benchmark that hangs fails the run rather than holding the machine
        env: { ...process.env, BENCH_DIST: snapshot },
      },
    ).catch((e: { stderr?: string }) => {
      process.stderr.write(e.stderr ?? String(e));
      throw new Error(`bench ${name} failed`);
    });
    const line = stdout.split('\n').find((l) => l.startsWith(MARK));
    if (!line) throw new Error(`${name} printed no result:\n${stdout}`);
    results[name] = JSON.parse(line.slice(MARK.length)) as Result;
    process.stderr.write(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const figures = Object.values(results).flatMap((r) => r.figures);
  const paired = figures.filter((f) => f.client !== undefined);
  if (paired.length)
    console.log(`Side by side (ratio: to the raw socket, median of interleaved rounds)\n\n${sideBySide(paired)}\n`);
  const rest = figures.filter((f) => f.client === undefined);
  if (rest.length) console.log(table(rest));
  const commit = (() => {
    try {
      return execSync('git rev-parse --short HEAD', { cwd: root }).toString().trim();
    } catch {
      return undefined;
    }
  })();
  const env = {
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    platform: process.platform,
    loadavg1m: { before: loadBefore, after: loadavg()[0] },
    commit,
    date: new Date().toISOString(),
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify({ env, results }, null, 2)}\n`);
  console.log(
    `\n${env.cpus} × ${env.cpu}, Node ${env.node}; load average (1 min) ${loadBefore?.toFixed(1)} before, ${env.loadavg1m.after?.toFixed(1)} after`,
  );
  console.log(`written: bench/results/latest.json`);
};

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] ?? '');
else await parent(args.length ? args : Object.keys(BENCHES));
