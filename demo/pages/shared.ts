// Shared by the demo pages. No runtime import of the SDK here: the plain page gets it from the
// `<script>` build (global `ResilientWS`), the React page from the package. Types only.
import type { ClientOptions, State, StateDetail } from 'resilient-ws';
import type { ClientMsg, ServerMsg, TokenResponse } from '../protocol';

export type DemoOptions = ClientOptions<ServerMsg, ClientMsg>;

export type LogKind = 'state' | 'error' | 'system' | 'chaos' | 'info';

export interface LogEntry {
  id: number;
  at: number;
  kind: LogKind;
  text: string;
}

let nextLogId = 1;
export function logEntry(kind: LogKind, text: string): LogEntry {
  return { id: nextLogId++, at: Date.now(), kind, text };
}

/** `ws://` or `wss://` + this page's host + `/ws`. */
export function wsUrl(): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws`;
}

/**
 * The endpoints to fail over between: `?urls=ws://a/ws,ws://b/ws` (what `npm run demo:cluster`
 * prints), else this page's own server.
 */
export function endpoints(): DemoOptions['url'] {
  const list = new URLSearchParams(location.search).get('urls')?.split(',').filter(Boolean);
  return list?.length ? list : wsUrl;
}

export const FIXED_TOKEN = 'demo-token';
export const SHORT_TTL_SECONDS = 20;

/**
 * Where the auth message's token comes from: the fixed `demo-token`, or a short-lived token
 * from `GET /token?ttl=20`, kept while valid and fetched afresh when it has (nearly) expired —
 * the SDK calls the auth factory on every open, so a reconnect after 20 s shows a refresh.
 */
export class TokenSource {
  shortLived = false;
  private cached: TokenResponse | undefined;

  constructor(private readonly log: (kind: LogKind, text: string) => void) {}

  /** What the page shows about the current token. */
  describe(): string {
    if (!this.shortLived) return FIXED_TOKEN;
    if (this.cached === undefined) return 'short-lived (none yet)';
    const left = Math.round((this.cached.expiresAt - Date.now()) / 1000);
    return left > 0 ? `short-lived, expires in ${left} s` : 'short-lived, expired';
  }

  /** The auth factory given to the client. */
  readonly authMessage = async (): Promise<ClientMsg> => {
    if (!this.shortLived) return { type: 'auth', token: FIXED_TOKEN };
    const now = Date.now();
    if (this.cached !== undefined && this.cached.expiresAt - now > 1000) {
      this.log('info', `auth: reusing short-lived token (${Math.round((this.cached.expiresAt - now) / 1000)} s left)`);
      return { type: 'auth', token: this.cached.token };
    }
    const res = await fetch(`/token?ttl=${SHORT_TTL_SECONDS}`, { cache: 'no-store' });
    if (!res.ok) throw new Error(`GET /token: HTTP ${res.status}`);
    this.cached = (await res.json()) as TokenResponse;
    this.log('info', `auth: fetched a new short-lived token for ${this.cached.user} (${SHORT_TTL_SECONDS} s)`);
    return { type: 'auth', token: this.cached.token };
  };
}

/**
 * Comma-separated non-negative numbers from the page's query string, laid over `defaults`
 * position by position (an empty or invalid entry keeps the default): `?rc=100,,2` → `[100, d1, 2, d3]`.
 */
function numbersParam(name: string, defaults: readonly number[]): number[] {
  const raw = typeof location === 'undefined' ? null : new URLSearchParams(location.search).get(name);
  if (raw === null) return [...defaults];
  const parts = raw.split(',');
  return defaults.map((d, i) => {
    const part = parts[i]?.trim() ?? '';
    const n = Number(part);
    return part !== '' && Number.isFinite(n) && n >= 0 ? n : d;
  });
}

/**
 * The client options both pages use: short timings so recovery is visible within seconds.
 *
 * Tests (and the curious) can override the liveness timings with query parameters:
 *   `?hb=interval,timeout`                       heartbeat, ms (default 5000,3000)
 *   `?rc=initialDelay,maxDelay,factor,jitter`    reconnect backoff (default 500,8000,2,0.3)
 * e.g. `/react.html?hb=500,500&rc=100,2000,2,0`. Missing entries keep the defaults.
 */
export function demoOptions(tokens: TokenSource): DemoOptions {
  const [interval = 5000, timeout = 3000] = numbersParam('hb', [5000, 3000]);
  const [initialDelay = 500, maxDelay = 8000, factor = 2, jitter = 0.3] = numbersParam('rc', [500, 8000, 2, 0.3]);
  return {
    url: endpoints(),
    auth: { message: tokens.authMessage, isAck: (m) => m.type === 'auth_ok', timeout: 5000 },
    heartbeat: { interval, timeout },
    reconnect: { initialDelay, maxDelay, factor, jitter },
    queue: { maxSize: 100, overflow: 'drop-oldest' },
  };
}

export type ChaosAction = 'drop' | 'stall' | 'restart';

/** Ask the server to misbehave. Returns a line for the event log. */
export async function chaos(action: ChaosAction): Promise<string> {
  const url = action === 'restart' ? '/chaos/restart?down=3000' : `/chaos/${action}`;
  try {
    const res = await fetch(url, { method: 'POST', cache: 'no-store' });
    const body = (await res.json()) as Record<string, unknown>;
    if (action === 'drop') return `server dropped ${String(body.dropped)} connection(s) (no close frame)`;
    if (action === 'stall')
      return `server stalled ${String(body.stalled)} connection(s): half-open, heartbeat will notice`;
    return `server restarting: closed ${String(body.closed)} connection(s), down for 3 s`;
  } catch (err) {
    return `chaos ${action} failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour12: false });
}

export function fmtPrice(price: number): string {
  return price.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function fmtChange(change: number): string {
  return `${change >= 0 ? '+' : ''}${change.toFixed(2)} %`;
}

/** "in 1.4 s" for a reconnect deadline, or "–". */
export function fmtCountdown(retryAt: number | undefined): string {
  if (retryAt === undefined) return '–';
  return `in ${(Math.max(0, retryAt - Date.now()) / 1000).toFixed(1)} s`;
}

export function fmtLatency(ms: number | undefined): string {
  return ms === undefined ? '–' : `${Math.round(ms)} ms`;
}

/** The event log's line for a state change: the close that caused it, and when the next attempt comes. */
export function stateText(state: State, detail: StateDetail): string {
  let text: string = state;
  if (detail.closeInfo !== undefined && (state === 'reconnecting' || state === 'closed')) {
    const { code, reason } = detail.closeInfo;
    text += ` — closed ${code}${reason ? ` "${reason}"` : ''}`;
  }
  if (state === 'reconnecting') {
    const when =
      detail.delay !== undefined ? ` in ${(detail.delay / 1000).toFixed(1)} s` : ' when the network/page allows';
    text += ` — attempt ${detail.attempt}${when}`;
  }
  return text;
}
