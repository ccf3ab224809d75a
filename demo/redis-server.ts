/**
 * A private redis-server, for `npm run demo:cluster` and the tests: the system binary on a
 * free loopback port, no persistence, stopped by PID. When the binary is missing, the error
 * says how to install it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';

/** The binary; `REDIS_SERVER` overrides it. */
/** The binary: `REDIS_SERVER`, else the usual places. */
export const REDIS_BIN =
  process.env.REDIS_SERVER ??
  ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/opt/homebrew/bin/redis-server'].find((p) =>
    existsSync(p),
  ) ??
  '/usr/bin/redis-server';

/** A running redis-server. */
export interface RedisServer {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** A port the OS says is free now (bound and released on 127.0.0.1). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${out}`)), 10_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
  });
}

/** Start redis-server on a free port (a port taken meanwhile gets one more try). */
export async function startRedis(): Promise<RedisServer> {
  if (!existsSync(REDIS_BIN))
    throw new Error(`redis-server not found (${REDIS_BIN}): install it with \`apt-get install redis-server\``);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn(
      REDIS_BIN,
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    try {
      await waitReady(child);
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt < 2) continue;
      throw err;
    }
    const pid = child.pid as number;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      pid,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
        await exited;
      },
    };
  }
}
