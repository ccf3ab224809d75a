// (e) Fan-out: chat lines delivered per second to 300 clients in one room, by one demo
// instance (in-process bus) and by three instances joined through Redis (100 clients each),
// in the same run. Servers are child processes; the clients are plain `ws` sockets in this
// process, so what is measured is the servers' fan-out, not the SDK.
import WebSocket from 'ws';
import { type Instance, spawnInstance } from '../demo/instances';
import { freePort, startRedis } from '../demo/redis-server';
import { type Figure, figure as quote, round, sleep, until } from './lib';

export const CLIENTS = 300;
/** Senders among the clients, and lines each posts (within the server's burst of 50). */
export const SENDERS = 10;
export const LINES = 40;
const ROOM = 'fanout';
const CHAT = Buffer.from('"type":"chat"');

interface Socket {
  ws: WebSocket;
  chats: number;
}

const connect = (url: string): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s: Socket = { ws: new WebSocket(url, { perMessageDeflate: false }), chats: 0 };
    s.ws.once('error', reject);
    s.ws.on('message', (data: Buffer) => {
      if (data.indexOf(CHAT) >= 0) s.chats++;
      else if (data.indexOf('"joined"') >= 0 || data.indexOf(' joined"') >= 0) s.ws.emit('joined');
    });
    s.ws.once('open', () => {
      s.ws.send(JSON.stringify({ type: 'auth', token: 'demo-token' }));
      s.ws.send(JSON.stringify({ type: 'unsubscribe', channel: 'prices' }));
      s.ws.send(JSON.stringify({ type: 'join', room: ROOM }));
      s.ws.once('joined', () => resolve(s));
    });
  });

/** Deliveries per second of SENDERS × LINES lines to CLIENTS sockets spread over `urls`. */
const measure = async (urls: string[]): Promise<{ perSecond: number; ms: number }> => {
  const sockets: Socket[] = [];
  for (let i = 0; i < CLIENTS; i += 20)
    sockets.push(
      ...(await Promise.all(Array.from({ length: 20 }, (_, k) => connect(urls[(i + k) % urls.length] as string)))),
    );
  await sleep(300); // joins settle everywhere
  const total = SENDERS * LINES * CLIENTS;
  const t0 = performance.now();
  for (let s = 0; s < SENDERS; s++)
    for (let n = 0; n < LINES; n++)
      sockets[s]?.ws.send(JSON.stringify({ type: 'message', text: `line ${s}.${n} ${'x'.repeat(40)}` }));
  await until(() => sockets.reduce((sum, s) => sum + s.chats, 0) >= total, 60_000, 'every delivery');
  const ms = performance.now() - t0;
  for (const s of sockets) s.ws.terminate();
  return { perSecond: (total / ms) * 1000, ms };
};

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const redis = await startRedis();
  const instances: Instance[] = [];
  try {
    const single = await spawnInstance({ port: await freePort(), quiet: true });
    instances.push(single);
    const one = await measure([single.wsUrl]);
    await single.stop();
    const ports = [await freePort(), await freePort(), await freePort()];
    const trio = await Promise.all(ports.map((port) => spawnInstance({ port, redis: redis.url, quiet: true })));
    instances.push(...trio);
    const three = await measure(trio.map((i) => i.wsUrl));
    const figure = (metric: string, value: number, unit: string): Figure => ({ bench: 'fanout', metric, value, unit });
    return {
      figures: [
        figure(
          `chat deliveries/s to ${CLIENTS} clients, 1 instance`,
          quote('fanout.one', round(one.perSecond), 'msg/s'),
          'msg/s',
        ),
        figure(
          `chat deliveries/s to ${CLIENTS} clients, 3 instances on Redis`,
          quote('fanout.three', round(three.perSecond), 'msg/s'),
          'msg/s',
        ),
      ],
      details: { clients: CLIENTS, senders: SENDERS, lines: LINES, one, three },
    };
  } finally {
    await Promise.all(instances.map((i) => i.kill()));
    await redis.stop();
  }
};
