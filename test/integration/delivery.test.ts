// Request/response against a real `ws` server. The delivery module's chaos suite, against the
// README's server recipe, is in delivery-chaos.test.ts.
import type { AddressInfo } from 'node:net';
import { type Message, WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { request } from '../../src/request';

const stops: (() => void)[] = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
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
