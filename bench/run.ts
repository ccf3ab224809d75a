// `npm run bench [-- name…]`: runs each benchmark in a fresh Node process (its own heap and
// JIT state, `--expose-gc`), prints one table, writes bench/results/latest.json.
// Names: echo, echo-browser, queue, dispatch, storm, fanout (default: all). Needs `npm run build`.
// `--write`: also store the figures in docs/figures.json and rewrite the docs' marked figures.
// Figures that name a `client` go into the side-by-side table (one column per client), the others
// into the main table. `BENCH_QUICK=1`: one round each, to try the harness (figures meaningless).
import { execFile, execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type BenchResult, readFigures, sideBySide, table, updateDocs, writeFigures } from './figures';
import { type Figure, QUICK, recorded, root } from './lib';

type Result = { figures: Figure[]; details: unknown; named?: BenchResult['named'] };
type Bench = () => Promise<Result>;

const BENCHES: Record<string, () => Promise<{ run: Bench }>> = {
  echo: () => import('./echo'),
  'echo-browser': () => import('./echo-browser'),
  queue: () => import('./queue'),
  dispatch: () => import('./dispatch'),
  storm: () => import('./storm'),
  fanout: () => import('./fanout'),
  burst: () => import('./burst'),
  fallback: () => import('./fallback'),
  engines: () => import('./engines'),
};

const MARK = '@@bench-result ';

const child = async (name: string): Promise<void> => {
  const load = BENCHES[name];
  if (!load) throw new Error(`unknown bench ${name}`);
  const result = await (await load()).run();
  process.stdout.write(`${MARK}${JSON.stringify({ ...result, named: recorded() })}\n`);
  process.exit(0); // a bench that leaked a handle must not hang the suite
};

const parent = async (names: string[], write: boolean): Promise<void> => {
  if (write && QUICK) throw new Error('--write with BENCH_QUICK=1: quick figures mean nothing, they are not written');
  const run = promisify(execFile);
  const results: Record<string, Result> = {};
  const loads: Record<string, { before: number; after: number }> = {};
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
    const load = loadavg()[0] ?? 0;
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
    loads[name] = { before: load, after: loadavg()[0] ?? 0 };
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
  if (write) {
    // docs/figures.json keeps each bench's last written run; the docs' marked figures follow
    const figures = readFigures();
    figures.bench ??= {};
    for (const [name, r] of Object.entries(results))
      figures.bench[name] = {
        env: { ...env, cpu: env.cpu, loadavg1m: loads[name] ?? env.loadavg1m } as BenchResult['env'],
        figures: r.figures,
        named: r.named ?? {},
      };
    writeFigures(figures);
    const changed = updateDocs(figures);
    console.log(`written: docs/figures.json; docs updated: ${changed.join(', ') || 'none changed'}`);
  }
};

const args = process.argv.slice(2);
const names = args.filter((a) => a !== '--write');
if (args[0] === '--child') await child(args[1] ?? '');
else await parent(names.length ? names : Object.keys(BENCHES), args.includes('--write'));
