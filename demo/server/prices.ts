/**
 * The live price stream: three symbols on a random walk, to every authenticated connection
 * that has not unsubscribed. Each instance runs its own walk — a feed, not shared state.
 */
import type { ServerMsg } from '../protocol';
import { sendRaw } from './conn';
import type { Conn } from './types';

const SYMBOLS: ReadonlyArray<{ symbol: string; open: number }> = [
  { symbol: 'BTC-USD', open: 64_000 },
  { symbol: 'ETH-USD', open: 3_200 },
  { symbol: 'ACME', open: 120 },
];

/** A slow consumer skips ticks instead of buffering without bound. */
const SLOW_CONSUMER_BYTES = 256 * 1024;

/** Standard normal deviate (Box–Muller). */
function gaussian(): number {
  const u = 1 - Math.random();
  const v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

/** Tick every `intervalMs` (0: never). Returns the function that stops it. */
export function startPrices(conns: Set<Conn>, intervalMs: number): () => void {
  if (intervalMs <= 0) return () => {};
  const prices = SYMBOLS.map((s) => ({ symbol: s.symbol, open: s.open, price: s.open }));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const p of prices) {
      p.price = Math.max(0.01, p.price * Math.exp(gaussian() * 0.001));
      const msg: ServerMsg = {
        type: 'price',
        symbol: p.symbol,
        price: round2(p.price),
        change: round2((p.price / p.open - 1) * 100),
        timestamp: now,
      };
      const text = JSON.stringify(msg);
      for (const c of conns) if (c.authed && c.prices && c.ws.bufferedAmount < SLOW_CONSUMER_BYTES) sendRaw(c, text);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
