// The core must work in apps without React: importing it must never load `react`.
import { WebSocket as MockWebSocket, Server } from 'mock-socket';
import { afterEach, expect, it, vi } from 'vitest';

vi.mock('react', () => {
  throw new Error('react must not be imported');
});

const URL = 'ws://core.test/';
let server: Server | undefined;
afterEach(() => server?.stop());

it('imports, connects and dispatches without React', async () => {
  const { WebSocketClient } = await import('../../src/index');
  server = new Server(URL, { mock: false });
  server.on('connection', (socket) => socket.send(JSON.stringify({ type: 'hello' })));
  const client = new WebSocketClient({ url: URL, WebSocket: MockWebSocket as never, heartbeat: false });
  const hello = vi.fn();
  client.on('hello', hello);
  await vi.waitFor(() => expect(hello).toHaveBeenCalledWith({ type: 'hello' }));
  expect(client.state).toBe('open');
  client.dispose();
});

it('the mock does catch an import of react (control)', async () => {
  const error: Error = await import('../../src/react').then(
    () => new Error('imported'),
    (e) => e,
  );
  // vitest wraps a throwing mock factory's error; the original is the cause
  expect(String(error.cause)).toMatch(/react must not be imported/);
});
