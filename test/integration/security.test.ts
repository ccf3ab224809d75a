// The reference server under attack, on one instance: each test is an attack from outside, on
// loopback, with a bounded loop, and asserts the server's answer. Figures print as `[security]`.
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Instance, spawnInstance } from '../../demo/instances';
import type { StatsResponse } from '../../demo/protocol';
import { type DemoClient, demoClient, sleep } from './demo-client';
import { freePort } from './redis';

const clients: DemoClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

/** Resident memory of a process, in MB (Linux). */
function rssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Math.round(Number(kb) / 1024);
}

async function stats(url: string): Promise<StatsResponse> {
  return (await (await fetch(`${url}/stats`)).json()) as StatsResponse;
}

describe('a client that never reads (the server as its own process)', () => {
  let inst: Instance;
  beforeAll(async () => {
    inst = await spawnInstance({ port: await freePort(), quiet: true });
  }, 30_000);
  afterAll(async () => {
    await inst?.stop();
  });

  it('is closed once its unsent backlog passes maxBufferedBytes (default 1 MiB), memory stays bounded', async () => {
    const c = await demoClient(inst.wsUrl);
    clients.push(c);
    // stop reading: the kernel buffers fill, then the server's own queue grows
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const before = rssMb(inst.pid);
    const frame = JSON.stringify({ type: 'echo', pad: 'x'.repeat(60 * 1024) });
    let sent = 0;
    let open = 1;
    // ~38 frames of 60 KB a second (under the rate limit), for at most 15 s
    for (let i = 0; i < 570 && open > 0; i++) {
      if (c.ws.readyState !== c.ws.OPEN) break;
      c.ws.send(frame);
      sent += frame.length;
      await sleep(26);
      if (i % 10 === 9) open = (await stats(inst.url)).connections;
    }
    await sleep(300);
    open = (await stats(inst.url)).connections;
    const after = rssMb(inst.pid);
    console.log(
      `[security] slow reader: sent ${(sent / 1e6).toFixed(1)} MB to echo, server RSS ${before} → ${after} MB, ` +
        `connection ${open === 0 ? 'closed' : 'still open'}`,
    );
    expect(open).toBe(0);
    expect(sent).toBeLessThan(15e6); // closed well before the loop's end
    expect(after - before).toBeLessThan(40);
  }, 40_000);
});
