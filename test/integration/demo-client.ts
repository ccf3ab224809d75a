// A raw `ws` client for the demo protocol: records every parsed message, waits for one.
import { WebSocket } from 'ws';

export type Msg = { type: string; [key: string]: unknown };

/** Connect, authenticate with `token` (plus `extra` fields), and wait for `auth_ok`. */
export async function demoClient(url: string, token = 'demo-token', extra: object = {}): Promise<DemoClient> {
  const c = new DemoClient(url);
  await c.opened;
  const ok = c.next('auth_ok');
  c.send({ type: 'auth', token, ...extra });
  await ok;
  return c;
}

/** A recorded connection to the demo server. */
export class DemoClient {
  readonly ws: WebSocket;
  readonly messages: Msg[] = [];
  readonly opened: Promise<void>;
  private waiters = new Set<() => void>();

  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as Msg;
      if (m.type === 'price') return;
      this.messages.push(m);
      for (const w of [...this.waiters]) w();
    });
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  of(type: string): Msg[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** The first message from index `from` on that matches. */
  waitFor(pred: (m: Msg) => boolean, timeoutMs = 3000, from = 0): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.messages.slice(from).find(pred);
        if (found === undefined) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timeout; last: ${JSON.stringify(this.messages.slice(-3))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  next(type: string, timeoutMs = 3000): Promise<Msg> {
    return this.waitFor((m) => m.type === type, timeoutMs, this.messages.length);
  }

  /** Join and wait for this client's own "joined". */
  async join(room: string): Promise<void> {
    const from = this.messages.length;
    this.send({ type: 'join', room });
    await this.waitFor((m) => m.type === 'system' && m.room === room && String(m.text).endsWith(' joined'), 3000, from);
  }

  close(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll until `cond` holds. */
export async function until(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}
