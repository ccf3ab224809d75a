// Starting `npm run demo` and other commands the docs show, as a reader would, on free ports.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { root } from './markdown';

export interface Started {
  child: ChildProcess;
  port: number;
  output: () => string;
}

/**
 * `npm run demo` with the given arguments on a free port (`--port 0`), resolved once the server
 * prints its URL. `--ignore-scripts` skips only the `predemo` build, which `npm test` has done.
 */
export const startDemo = (args: string[] = []): Promise<Started> =>
  new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'demo', '--ignore-scripts', '--', '--port', '0', '--quiet', ...args], {
      cwd: root,
      env: { ...process.env, PORT: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the demo printed no URL in 30 s:\n${out}`)), 30_000);
    const read = (d: Buffer) => {
      out += d;
      const m = /plain page[^\n]*http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), output: () => out });
      }
    };
    child.stdout?.on('data', read);
    child.stderr?.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited with ${code}:\n${out}`));
    });
  });

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** The processes whose parent is `pid` (from /proc, via pgrep). */
export const childrenOf = (pid: number): number[] => {
  try {
    return execFileSync('pgrep', ['-P', String(pid)])
      .toString()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
};

export const commandLine = (pid: number): string => {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)])
      .toString()
      .trim();
  } catch {
    return '';
  }
};

/** Resolves with the exit code (or signal) once `child` has exited; rejects after `ms`. */
export const exited = (child: ChildProcess, ms: number): Promise<number | string> =>
  new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve(child.exitCode ?? (child.signalCode as string));
      return;
    }
    const timer = setTimeout(() => reject(new Error(`still running after ${ms} ms`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal as string));
    });
  });

/** Runs `node file` with `env`, collecting its output; rejects if it runs longer than `ms`. */
export const runNode = (
  args: string[],
  env: Record<string, string>,
  ms: number,
): Promise<{ code: number | string; out: string; ms: number }> => {
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d;
  });
  return exited(child, ms).then(
    (code) => ({ code, out, ms: performance.now() - started }),
    (e: Error) => {
      child.kill('SIGKILL');
      throw new Error(`${e.message}: node ${args.join(' ')}\n${out}`);
    },
  );
};

/** SIGKILL `pid` and everything it started (a failed test must not leave a server behind). */
export const killTree = (pid: number | undefined): void => {
  if (pid === undefined) return;
  for (const child of childrenOf(pid)) killTree(child);
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
};
