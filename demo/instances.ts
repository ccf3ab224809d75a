/**
 * Demo server instances as child processes (`demo/main.ts`), so one can be killed for real —
 * `npm run demo:cluster` and the cluster tests use it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** One running instance. */
export interface Instance {
  port: number;
  url: string;
  wsUrl: string;
  pid: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** SIGKILL: no close frame, no goodbye to Redis — a crash. */
  kill(): Promise<void>;
  /** SIGTERM: a clean shutdown. */
  stop(): Promise<void>;
}

/** Options of {@link spawnInstance}. */
export interface SpawnOptions {
  port: number;
  /** Join this Redis; none: a standalone instance on the in-process bus. */
  redis?: string;
  /** Every endpoint of the cluster (for the pages' CSP). */
  endpoints?: string[];
  quiet?: boolean;
  /** `false`: no history on `join` (only `resume` replays). */
  replay?: boolean;
  /** More command-line arguments for `demo/main.ts`. */
  args?: string[];
  /** Each output line, for a launcher that shows them. */
  onLine?: (line: string) => void;
}

/** Start `demo/main.ts` (joined to `redis`, if given); resolves once it listens. */
export function spawnInstance(opts: SpawnOptions): Promise<Instance> {
  const args = ['--import', 'tsx', path.join(REPO_DIR, 'demo/main.ts'), '--port', String(opts.port)];
  if (opts.redis) args.push('--redis', opts.redis);
  if (opts.endpoints?.length) args.push('--endpoints', opts.endpoints.join(','));
  if (opts.quiet) args.push('--quiet');
  if (opts.replay === false) args.push('--no-replay');
  if (opts.args) args.push(...opts.args);
  const child = spawn(process.execPath, args, { cwd: REPO_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid as number, sig);
    await exited;
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer): void => {
      const text = d.toString();
      out += text;
      for (const line of text.split('\n')) if (line.trim()) opts.onLine?.(line);
      if (out.includes('Press Ctrl+C')) {
        const url = `http://127.0.0.1:${opts.port}`;
        resolve({
          port: opts.port,
          url,
          wsUrl: `ws://127.0.0.1:${opts.port}/ws`,
          pid: child.pid as number,
          child,
          exited,
          kill: () => signal('SIGKILL'),
          stop: () => signal('SIGTERM'),
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`instance on ${opts.port} exited (${code}):\n${out}`)));
  });
}
