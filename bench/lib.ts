// Shared helpers of the benchmarks: the built SDK, an echo server in its own process, stats.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Core from 'resilient-ws';

/** `BENCH_QUICK=1`: one round of each, to try the harness; the figures mean nothing. */
export const QUICK = process.env.BENCH_QUICK === '1';

export const root = fileURLToPath(new URL('../', import.meta.url));
/**
 * A file of the build. `npm run bench` snapshots dist/ first (into bench/results/dist/), so a
 * rebuild while it runs cannot swap the code under a measurement.
 */
export const distFile = (file: string): string => join(process.env.BENCH_DIST ?? join(root, 'dist'), file);

/** The BUILT core (what users get), not the sources. */
export const loadSdk = async (): Promise<typeof Core> => {
  const file = distFile('index.mjs');
  if (!existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return (await import(pathToFileURL(file).href)) as typeof Core;
};

/** One benchmark figure. `target` and `ok` when the figure has a goal. */
export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  target?: string;
  ok?: boolean;
  /**
   * A side-by-side figure: the client it is of (`bench` is then a row of the side-by-side table,
   * one column per client). Figures without it go to the main table.
   */
  client?: string;
  /** The client's value over the raw socket's, the median of the per-round ratios. */
  ratio?: number;
  /** What the value alone does not say (e.g. delivered/sent). */
  note?: string;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export const round = (x: number, digits = 0): number => Math.round(x * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A `ws` echo server in a child process, so the server's work does not share the event loop
 * (and the CPU time slices) of the client being measured.
 */
export const startEchoServer = async (): Promise<{ url: string; stop: () => void }> => {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', fileURLToPath(new URL('./echo-server.ts', import.meta.url))],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.once('exit', (code) => reject(new Error(`echo server exited with ${code}`)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
  });
  return { url: `ws://127.0.0.1:${port}`, stop: () => child.kill() };
};

/** Wait until `f()` is true, polling; throws after `ms`. */
export const until = async (f: () => boolean, ms = 30_000, what = 'condition'): Promise<void> => {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
};

/** Figures recorded by name in this process, for the docs (see {@link figure}). */
const named = new Map<string, { value: number; unit: string }>();

/**
 * Records a figure the docs quote, under a key of its own: `figure('fanout.one', 16697, 'msg/s')`.
 * `npm run bench -- --write` stores it in docs/figures.json, and a docs page quotes it as
 * `<!-- fig:bench.fanout.one -->16,697 msg/s<!-- /fig -->`, which the docs test keeps equal to
 * the stored figure. Returns `value`, so it can wrap an expression.
 */
export const figure = (key: string, value: number, unit = ''): number => {
  if (!/^[a-z0-9][a-z0-9.-]*$/.test(key)) throw new Error(`figure key "${key}": lower case, digits, . and - only`);
  named.set(key, { value, unit });
  return value;
};

/** The figures recorded with {@link figure} so far. */
export const recorded = (): Record<string, { value: number; unit: string }> => Object.fromEntries(named);
