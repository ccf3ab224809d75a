// At-least-once delivery under chaos: a real `ws` server cuts every connection at a random
// moment 100–400 ms after it opens, while 3000 numbered messages flow each way, one every 2 ms.
import type { AddressInfo } from 'node:net';
import { type Message, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { type Delivery, delivery } from '../../src/delivery';
import { request } from '../../src/request';

const N = 3000;
const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

/**
 * The server side of the wire format: acknowledges client ids and drops their repeats; numbers
 * its own messages and replays after the `lastId` the client sends in its auth message.
 */
const chaosServer = async () => {
  const wss = new WebSocketServer({ port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const received: number[] = [];
  const seenIds = new Set<string>();
  const history: { type: 'tick'; id: number; n: number }[] = [];
  let live: { ws: WebSocket; next: number } | undefined;
  let connections = 0;
  const pump = () => {
    if (!live) return;
    while (live.next <= history.length && live.ws.readyState === WebSocket.OPEN)
      live.ws.send(JSON.stringify(history[live.next++ - 1]));
  };
  wss.on('connection', (ws) => {
    connections++;
    const cut = setTimeout(() => ws.terminate(), 100 + Math.random() * 300);
    ws.on('close', () => {
      clearTimeout(cut);
      if (live?.ws === ws) live = undefined;
    });
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; id: string; n: number; lastId?: number };
      if (m.type === 'auth') {
        live = { ws, next: (m.lastId ?? 0) + 1 };
        return pump();
      }
      if (!seenIds.has(m.id)) {
        seenIds.add(m.id);
        received.push(m.n);
      }
      ws.send(JSON.stringify({ type: 'ack', id: m.id }));
    });
  });
  const produce = setInterval(() => {
    if (history.length < N) history.push({ type: 'tick', id: history.length + 1, n: history.length + 1 });
    pump();
  }, 2);
  stops.push(() => {
    clearInterval(produce);
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, received, connections: () => connections };
};

describe('at-least-once delivery under chaos', () => {
  it('every message arrives, none twice, in order, both ways, while connections are cut every 100–400 ms', async () => {
    const server = await chaosServer();
    const client: WebSocketClient<Message, Message> = new WebSocketClient<Message, Message>({
      url: server.url,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      reconnect: { initialDelay: 10, maxDelay: 50, jitter: 0.5 },
      queue: { maxSize: 5000 },
      // the resume point travels in the auth message, so the server replays before anything else
      auth: (): Message => ({ type: 'auth', lastId: d.lastId }),
    });
    const d: Delivery = delivery(client);
    stops.push(() => client.dispose());
    const seen: number[] = [];
    client.on('tick', (m) => seen.push(m.n as number));
    let n = 0;
    const sender = setInterval(() => {
      if (n < N) client.send({ type: 'msg', n: ++n });
    }, 2);
    stops.push(() => clearInterval(sender));

    await vi.waitFor(
      () => {
        expect(server.received.length).toBe(N);
        expect(seen.length).toBe(N);
      },
      { timeout: 45_000, interval: 50 },
    );
    const all = Array.from({ length: N }, (_, i) => i + 1);
    expect(server.received).toEqual(all);
    expect(seen).toEqual(all);
    expect(server.connections()).toBeGreaterThan(10); // it really was cut, many times
    await vi.waitFor(() => expect(d.unacked).toBe(0));
  }, 60_000);
});

describe('request/response against a real server', () => {
  it('matches replies across a reconnect, and times out when none comes', async () => {
    const wss = new WebSocketServer({ port: 0 });
    await new Promise((r) => wss.once('listening', r));
    stops.push(() => wss.close());
    let first = true;
    wss.on('connection', (ws) =>
      ws.on('message', (data) => {
        const m = JSON.parse(String(data));
        if (m.type !== 'get') return;
        if (first) {
          first = false;
          return ws.terminate(); // the request is lost with the connection; the app retries
        }
        ws.send(JSON.stringify({ type: 'result', requestId: m.requestId, value: m.key }));
      }),
    );
    const client = new WebSocketClient<Message, Message>({
      url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      heartbeat: false,
      reconnect: { initialDelay: 10, jitter: 0 },
    });
    stops.push(() => client.dispose());
    await expect(request(client, { type: 'get', key: 'lost' }, { timeout: 300 })).rejects.toMatchObject({
      code: 'REQUEST_TIMEOUT',
    });
    await vi.waitFor(() => expect(client.state).toBe('open'));
    await expect(request(client, { type: 'get', key: 'k' }, { timeout: 2000 })).resolves.toMatchObject({ value: 'k' });
  });
});
