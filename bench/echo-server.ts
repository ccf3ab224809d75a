// A `ws` echo server for the throughput benchmarks; prints `port N`, exits when its parent does.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.stdout.write(`port ${(wss.address() as AddressInfo).port}\n`));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
