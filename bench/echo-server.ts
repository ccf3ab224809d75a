// The `ws` server of the throughput benchmarks, in its own process; prints `port N`, exits when
// its parent does. By the connection's path:
//   /                echoes every frame;
//   /push            on `{"type":"push","n":N}`, sends N echo-shaped frames at once;
//   /count?n=N       counts the frames it receives and, at the Nth, sends `{"type":"done"}`.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const TEXT = 'a typical small chat message, some forty bytes';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  ws.on('error', () => {});
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/push') {
    ws.on('message', (data) => {
      const { n } = JSON.parse(String(data)) as { n: number };
      for (let seq = 0; seq < n; seq++) ws.send(JSON.stringify({ type: 'echo', seq, text: TEXT }));
    });
  } else if (url.pathname === '/count') {
    const n = Number(url.searchParams.get('n'));
    let got = 0;
    ws.on('message', () => {
      if (++got === n) ws.send('{"type":"done"}');
    });
  } else ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.stdout.write(`port ${(wss.address() as AddressInfo).port}\n`));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
