/**
 * HTTP: the static pages and bundles, `GET /token`, `GET /stats`, and the chaos endpoints.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { StatsResponse, TokenResponse } from '../protocol';
import type { Chaos } from './chaos';
import type { HostChecks } from './hosts';
import type { Limits } from './limits';

const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const REPO_DIR = path.resolve(DEMO_DIR, '..');
const TOKEN_TTL_DEFAULT = 30;
const TOKEN_TTL_MAX = 3600;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** A CSP for the pages; `endpoints` are the cluster's other WebSocket URLs a page may fail over to. */
const csp = (endpoints: string[]): string =>
  `default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'${endpoints.map((e) => ` ${e}`).join('')}; ` +
  "img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(text);
}

function text(res: ServerResponse, status: number, body: string, extra?: Record<string, string>): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'X-Content-Type-Options': 'nosniff',
    ...extra,
  });
  res.end(body);
}

/** Resolve `rel` inside `root`, or undefined if it escapes. */
function inside(root: string, rel: string): string | undefined {
  const p = path.resolve(root, `.${path.posix.sep}${rel}`);
  return p === root || p.startsWith(root + path.sep) ? p : undefined;
}

/** What the HTTP side needs. */
export interface HttpDeps {
  /** Default `demo/public`. */
  staticDir: string | undefined;
  /** Default `demo/dist`. */
  assetsDir: string | undefined;
  /** Default the repository's `dist/`. */
  libDir: string | undefined;
  endpoints: string[];
  hosts: HostChecks;
  /** The chaos controls, when they are served over HTTP at all. */
  chaos: Chaos | undefined;
  connections: () => number;
  issueToken: (ttlSeconds: number) => TokenResponse;
  stats: () => StatsResponse;
}

/** The request handler. */
export function httpHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const pageCsp = csp(deps.endpoints);
  const staticDir = path.resolve(deps.staticDir ?? path.join(DEMO_DIR, 'public'));
  const assetsDir = path.resolve(deps.assetsDir ?? path.join(DEMO_DIR, 'dist'));
  const libDir = path.resolve(deps.libDir ?? path.join(REPO_DIR, 'dist'));

  async function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return text(res, 400, 'bad request');
    }
    if (rel.includes('\0') || rel.includes('\\') || rel.split('/').includes('..')) return text(res, 400, 'bad request');
    if (rel === '/') rel = '/index.html';
    const candidates = rel.startsWith('/dist/')
      ? [inside(libDir, rel.slice('/dist/'.length))]
      : [inside(staticDir, rel), inside(assetsDir, rel)];
    for (const file of candidates) {
      if (file === undefined) continue;
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        size = st.size;
      } catch {
        continue;
      }
      const ext = path.extname(file).toLowerCase();
      const headers: Record<string, string | number> = {
        'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
        'Content-Length': size,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      };
      if (ext === '.html') headers['Content-Security-Policy'] = pageCsp;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') return void res.end();
      const stream = createReadStream(file);
      stream.on('error', () => res.destroy());
      stream.pipe(res);
      return;
    }
    text(res, 404, 'not found');
  }

  /**
   * State-changing, so POST only (a cross-site `<img>` or link sends a GET, with no `Origin`),
   * and the `Origin` a browser sends with every cross-site POST must be allowed.
   */
  function serveChaos(req: IncomingMessage, res: ServerResponse, url: URL, chaos: Chaos): void {
    req.resume(); // ignore any body
    if (req.method !== 'POST') return text(res, 405, 'method not allowed', { Allow: 'POST' });
    if (!deps.hosts.originAllowed(req)) return text(res, 403, 'forbidden origin');
    switch (url.pathname) {
      case '/chaos/drop':
        return json(res, 200, { ok: true, dropped: chaos.drop() });
      case '/chaos/stall':
        return json(res, 200, { ok: true, stalled: chaos.stall() });
      case '/chaos/restart': {
        const param = url.searchParams.get('down');
        const parsed = param === null ? 3000 : Number(param);
        const downMs = Number.isFinite(parsed) ? Math.max(0, Math.min(60_000, parsed)) : 3000;
        const closed = deps.connections();
        void chaos.restart(downMs);
        return json(res, 200, { ok: true, closed, downMs });
      }
      default:
        return text(res, 404, 'not found');
    }
  }

  return async (req, res) => {
    if (!deps.hosts.hostAllowed(req)) return text(res, 403, 'forbidden host');
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith('/chaos/')) {
      if (deps.chaos === undefined) return text(res, 404, 'not found (chaos controls are off)');
      return serveChaos(req, res, url, deps.chaos);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return text(res, 405, 'method not allowed', { Allow: 'GET, HEAD' });
    if (url.pathname === '/token') {
      const param = url.searchParams.get('ttl');
      const parsed = param === null ? TOKEN_TTL_DEFAULT : Number(param);
      const ttl = Number.isFinite(parsed) ? Math.max(0.1, Math.min(TOKEN_TTL_MAX, parsed)) : TOKEN_TTL_DEFAULT;
      return json(res, 200, deps.issueToken(ttl));
    }
    if (url.pathname === '/stats') return json(res, 200, deps.stats());
    await serveStatic(req, res, url.pathname);
  };
}

/** What {@link listen} needs. */
export interface ListenOptions {
  host: string;
  port: number;
  onRequest: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  onUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  log: (...args: unknown[]) => void;
  /** Bounds for connections that never complete a request (see `limits.ts`). */
  limits: Pick<Limits, 'headersTimeoutMs' | 'requestTimeoutMs' | 'idleTimeoutMs'>;
}

/**
 * The HTTP server, listening: a failing handler answers 500 (or drops the socket), never crashes
 * it. Connections that never complete a request are closed: headers (an upgrade's too) must
 * arrive within `headersTimeoutMs`, a whole request within `requestTimeoutMs`, and a socket
 * that sends nothing is closed after `idleTimeoutMs` (an upgraded WebSocket is exempt: `ws`
 * clears the socket's timeout, and the keepalive pings take over).
 */
export async function listen(opts: ListenOptions): Promise<Server> {
  const { log, limits } = opts;
  const requestTimeout = Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs);
  const options = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout,
    // how often Node checks those two: often enough to hold them within a quarter
    connectionsCheckingInterval: Math.max(50, Math.min(1000, limits.headersTimeoutMs / 4)),
    keepAliveTimeout: Math.min(5000, limits.idleTimeoutMs),
  };
  const server = createServer(options, (req, res) => {
    opts.onRequest(req, res).catch((err: unknown) => {
      log('request error:', err);
      if (!res.headersSent) text(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.timeout = limits.idleTimeoutMs; // no listener for 'timeout': Node destroys the socket
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      opts.onUpgrade(req, socket, head);
    } catch (err) {
      log('upgrade error:', err);
      socket.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => log('server error:', err.message));
  return server;
}
