// A server that does not answer pings (an echo server, most servers written without this
// client in mind) is the common first run: the connection is kept unchecked, and the client
// says so once, as advice: a note at `logger.info` when nobody listens to errors, never a
// warning; to `onError` listeners, as before, a `HEARTBEAT_TIMEOUT` carrying the same advice.
import { WebSocket as MockWebSocket, Server } from 'mock-socket';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ClientOptions, type Logger, WebSocketClient, type WebSocketClientError } from '../../src/index';
import { tick } from './helpers';

let server: Server;
let url: string;
let n = 0;
beforeEach(() => {
  vi.useFakeTimers();
  url = `ws://localhost:${45_000 + n++}`;
  server = new Server(url);
  // an echo server: every frame goes back as it came, the ping too
  server.on('connection', (s) => s.on('message', (d) => s.send(d)));
});
afterEach(() => {
  server.stop();
  vi.useRealTimers();
});

const hb = { interval: 1000, timeout: 500 };
const open = (logger: Logger, options: Partial<ClientOptions> = {}) => {
  const client = new WebSocketClient({
    url,
    WebSocket: MockWebSocket as unknown as ClientOptions['WebSocket'],
    heartbeat: hb,
    logger,
    ...options,
  });
  return client;
};
const ADVICE =
  /^no pong within 500 ms: kept unchecked\. Normal for a server that does not answer pings \(an echo server, say\): the connection stays open and works; .*heartbeat\.message\/isPong.*heartbeat\.anyMessage.*heartbeat: false/;

describe('a server that does not answer pings', () => {
  it('with no error listener: one note at info level, in plain words, and no warning', async () => {
    const logger = { warn: vi.fn(), info: vi.fn(), debug: vi.fn() };
    const client = open(logger);
    await tick(hb.timeout + 100);
    expect(client.state).toBe('open');
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.info).toHaveBeenCalledTimes(1);
    const [prefix, text] = logger.info.mock.calls[0]!;
    expect(prefix).toBe('[resilient-ws]');
    // a sentence, not an Error (no stack trace for the console to show as a failure)
    expect(typeof text).toBe('string');
    expect(text).toMatch(ADVICE);
    expect(text).not.toMatch(/HEARTBEAT_TIMEOUT|error|fail/i);
    // once per client, however long it runs
    await tick(5 * 60_000);
    expect(logger.info).toHaveBeenCalledTimes(1);
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('a logger with no `info`: the note goes to `warn`, so it is never lost', async () => {
    const logger = { warn: vi.fn() };
    const client = open(logger);
    await tick(hb.timeout + 100);
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![0]).toBe('[resilient-ws]');
    expect(logger.warn.mock.calls[0]![1]).toMatch(ADVICE);
    client.dispose();
  });

  it('error listeners get it as before: HEARTBEAT_TIMEOUT, with the advice, and nothing is logged', async () => {
    const logger = { warn: vi.fn(), info: vi.fn() };
    const client = open(logger, { autoConnect: false });
    const errors: WebSocketClientError[] = [];
    client.onError((e) => errors.push(e));
    client.connect();
    await tick(hb.timeout + 100);
    expect(errors.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
    expect(errors[0]!.message.replace(/^HEARTBEAT_TIMEOUT: /, '')).toMatch(ADVICE);
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.info).not.toHaveBeenCalled();
    expect(client.state).toBe('open');
    client.dispose();
  });

  it('only the note goes to info: what an error listener throws, even a string, is a warning', async () => {
    const logger = { warn: vi.fn(), info: vi.fn() };
    const client = open(logger, { autoConnect: false });
    client.onError(() => {
      throw 'listener broke';
    });
    client.connect();
    await tick(hb.timeout + 100);
    expect(logger.info).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledWith('[resilient-ws]', 'listener broke');
    client.dispose();
  });

  it('a server that answered and fell silent is still a warning: the connection was dead', async () => {
    server.stop();
    server = new Server(url);
    let answer = true;
    server.on('connection', (s) =>
      s.on(
        'message',
        (d) => answer && JSON.parse(String(d)).type === 'ping' && s.send(JSON.stringify({ type: 'pong' })),
      ),
    );
    const logger = { warn: vi.fn(), info: vi.fn() };
    const client = open(logger, { reconnect: { initialDelay: 100, jitter: 0 } });
    await tick();
    answer = false;
    await tick(hb.interval + hb.timeout);
    expect(logger.info).not.toHaveBeenCalled();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn.mock.calls[0]![1]).toMatchObject({ code: 'HEARTBEAT_TIMEOUT' });
    expect(client.state).toBe('reconnecting');
    client.dispose();
  });
});
