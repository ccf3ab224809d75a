// A "corporate proxy" in front of a server, for the fallback tests: it passes plain HTTP
// (streaming responses included) and treats WebSocket upgrades as `mode` says: pass them,
// refuse them with 403, drop the connection, or accept the upgrade and kill the socket before
// the first message (the client's frames never reach the server). `mode` can change at any time.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'drop' | 'kill';

export interface Proxy {
  port: number;
  mode: ProxyMode;
  /** upgrades seen, by what was done to them */
  upgrades: ProxyMode[];
  /** plain HTTP requests passed (method and path) */
  requests: string[];
  /** Cut every connection through the proxy (no close frame, no end of stream). */
  cut(): number;
  close(): Promise<void>;
}

export const startProxy = async (target: number, mode: ProxyMode): Promise<Proxy> => {
  const sockets = new Set<net.Socket>();
  const track = (s: net.Socket): void => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  };
  const server = http.createServer((req, res) => {
    proxy.requests.push(`${req.method} ${req.url}`);
    const up = http.request(
      { host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.headers, agent: false },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        res.flushHeaders();
        ur.pipe(res);
        // the server cut the response (a stream it terminated): so does the proxy, as a real one
        // does when its upstream connection dies before the end of a chunked body
        ur.on('close', () => {
          if (!ur.complete) res.destroy();
        });
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('connection', track);
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const m = proxy.mode;
    proxy.upgrades.push(m);
    if (m === 'refuse')
      return void socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    if (m === 'drop') return void socket.destroy();
    const up = net.connect(target, '127.0.0.1');
    track(up);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    up.write(`${lines.join('\r\n')}\r\n\r\n`);
    up.pipe(socket);
    if (m === 'pass') {
      if (head.length) up.write(head);
      socket.pipe(up);
      socket.on('close', () => up.destroy());
      up.on('close', () => socket.destroy());
      return;
    }
    // kill: the handshake goes through, nothing the client writes does, and soon the socket dies
    socket.resume();
    setTimeout(() => {
      socket.destroy();
      up.destroy();
    }, 50);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxy: Proxy = {
    port: (server.address() as AddressInfo).port,
    mode,
    upgrades: [],
    requests: [],
    cut: () => {
      const n = sockets.size;
      for (const s of sockets) s.destroy();
      return n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return proxy;
};
