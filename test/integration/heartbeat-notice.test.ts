// The first run a newcomer makes: a client against a real `ws` echo server, which never answers
// a ping. The connection works, and the client says once, as a note at info level, what is
// unchecked and how to check it: no warning, no error, no reconnect.
import type { AddressInfo } from 'node:net';
import { WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { afterEach, expect, it, vi } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';

const servers: WebSocketServer[] = [];
const clients: WebSocketClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.dispose();
  for (const wss of servers.splice(0)) {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((r) => wss.close(r));
  }
});

const echoServer = async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.once('listening', r));
  let connections = 0;
  wss.on('connection', (ws) => {
    connections++;
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, connections: () => connections };
};

it('against an echo server: the app works, and one note at info level says what is unchecked', async () => {
  const server = await echoServer();
  const logger = { warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
  const client = new WebSocketClient({
    url: server.url,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    heartbeat: { interval: 200, timeout: 400 },
    logger,
  });
  clients.push(client);
  const echoed = vi.fn();
  client.on('hello', echoed);
  await vi.waitFor(() => expect(client.state).toBe('open'));
  client.send({ type: 'hello' });
  await vi.waitFor(() => expect(echoed).toHaveBeenCalledWith({ type: 'hello' }));
  await vi.waitFor(() => expect(logger.info).toHaveBeenCalled(), { timeout: 5000 });
  // a little longer: still one note, the same connection, never a warning
  await new Promise((r) => setTimeout(r, 1000));
  expect(logger.info).toHaveBeenCalledTimes(1);
  expect(logger.info.mock.calls[0]).toEqual([
    '[resilient-ws]',
    expect.stringMatching(
      /^no pong within 400 ms: kept unchecked\. Normal for a server that does not answer pings .*heartbeat: false stops the ping and this note$/,
    ),
  ]);
  expect(logger.warn).not.toHaveBeenCalled();
  expect(client.state).toBe('open');
  expect(server.connections()).toBe(1);
  expect(echoed).toHaveBeenCalledTimes(1); // the echoed ping reached no handler
});
