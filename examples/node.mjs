// resilient-ws in Node: a request, three price ticks from the demo server, then a clean exit.
//
//   node examples/node.mjs [ws://127.0.0.1:8080/ws]       (or PORT=8080; start `npm run demo` first)
//
// Node 22 and later have a global WebSocket; on Node 20 the `ws` package's class is injected.
import { WebSocketClient } from 'resilient-ws';
import { request } from 'resilient-ws/request';

const WebSocket = globalThis.WebSocket ?? (await import('ws')).WebSocket;
const url = process.argv[2] ?? `ws://127.0.0.1:${process.env.PORT ?? 8080}/ws`;

const client = new WebSocketClient(url, {
  WebSocket,
  auth: { type: 'auth', token: 'demo-token' },
  reconnect: { maxAttempts: 5 }, // a script should give up at some point; an app usually never does
});
console.log(`WebSocket: ${globalThis.WebSocket ? "Node's own" : 'the ws package'}`);
client.onError((err) => console.warn(err.message));
client.onStateChange((state) => console.log('state:', state));

// Ctrl+C: close the socket, stop every timer; Node then exits by itself, no process.exit().
process.once('SIGINT', () => client.dispose());

try {
  // queued until the connection is open and authenticated; rejects after 10 s without a reply
  const reply = await request(client, { type: 'request', op: 'time' }, { reply: 'reply', timeout: 10_000 });
  console.log('server time:', new Date(reply.time).toISOString());
} catch (err) {
  console.error(`no answer from ${url}: ${err.message}`);
  client.dispose();
  process.exitCode = 1;
}

let ticks = 0;
client.on('price', (tick) => {
  console.log(`${tick.symbol} ${tick.price}`);
  if (++ticks === 3) client.close(); // nothing left running: the process ends here
});
