// `npm run bench [-- name…]`: runs each benchmark in a fresh Node process (its own heap and
// JIT state, `--expose-gc`), prints one table, writes bench/results/latest.json.
// Names: echo, echo-browser, queue, dispatch, storm (default: all). Needs `npm run build`.
import { execFile, execSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
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
};

const MARK = '@@bench-result ';

const child = async (name: string): Promise<void> => {
  const load = BENCHES[name];
  if (!load) throw new Error(`unknown bench ${name}`);
  const result = await (await load()).run();
  process.stdout.write(`${MARK}${JSON.stringify(result)}\n`);
  process.exit(0); // a bench that leaked a handle must not hang the suite
};

const table = (figures: Figure[]): string => {
  const rows = [
    ['benchmark', 'metric', 'value', 'target', ''],
    ...figures.map((f) => [
      f.bench,
      f.metric,
      `${f.value.toLocaleString('en-US')}${f.unit ? ` ${f.unit}` : ''}`,
      f.target ?? '',
      f.ok === undefined ? '' : f.ok ? 'ok' : 'MISS',
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length))) ?? [];
  const line = (r: string[]) =>
    `| ${r.map((c, i) => (i === 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  return [
    line(rows[0] as string[]),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...rows.slice(1).map(line),
  ].join('\n');
};

const parent = async (names: string[]): Promise<void> => {
  const run = promisify(execFile);
  const results: Record<string, Result> = {};
  const snapshot = join(root, 'bench/results/dist');
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  for (const file of ['index.mjs', 'resilient-ws.min.js']) {
    if (!existsSync(join(root, 'dist', file))) throw new Error(`dist/${file} is missing: run \`npm run build\` first`);
    copyFileSync(join(root, 'dist', file), join(snapshot, file));
  }
  for (const name of names) {
    if (!BENCHES[name]) throw new Error(`unknown bench "${name}"; one of: ${Object.keys(BENCHES).join(', ')}`);
    process.stderr.write(`running ${name}…\n`);
    const { stdout } = await run(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', fileURLToPath(import.meta.url), '--child', name],
      {
        cwd: root,
        maxBuffer: 1 << 26,
        env: { ...process.env, BENCH_DIST: snapshot },
      },
    ).catch((e: { stderr?: string }) => {
      process.stderr.write(e.stderr ?? String(e));
      throw new Error(`bench ${name} failed`);
    });
    const line = stdout.split('\n').find((l) => l.startsWith(MARK));
    if (!line) throw new Error(`${name} printed no result:\n${stdout}`);
    results[name] = JSON.parse(line.slice(MARK.length)) as Result;
  }
  const figures = Object.values(results).flatMap((r) => r.figures);
  console.log(table(figures));
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
    commit,
    date: new Date().toISOString(),
  };
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify({ env, results }, null, 2)}\n`);
  console.log(`\nwritten: bench/results/latest.json`);
};

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] ?? '');
else await parent(args.length ? args : Object.keys(BENCHES));
