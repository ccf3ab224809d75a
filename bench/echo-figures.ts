// The side-by-side figures of the echo benchmarks (Node and Chromium), from interleaved rounds:
// in each round every client ran once, so each client's ratio to the raw socket is taken per
// round (the same minute, the same load on the machine) and the median of those is reported.
import { CLIENTS, type ClientName, type Outcome } from './echo-rounds';
import { type Figure, median, round } from './lib';

export type PerRound<T> = Record<ClientName, T>[];

/** The SDK's own column; the targets are on it. */
const SDK: ClientName = 'resilient-ws';

const ratioOf = (rounds: PerRound<number>, c: ClientName): number => median(rounds.map((r) => r[c] / r.raw));

const fmt = (n: number): string => n.toLocaleString('en-US');

/**
 * Delivered/sent (`20,000/20,000`), or its range over the rounds when it varied; then what went
 * wrong, if anything: echoes out of order, messages the client reported dropped.
 */
const delivery = (outs: Outcome[]): string => {
  const d = outs.map((o) => o.delivered);
  const lo = Math.min(...d);
  const hi = Math.max(...d);
  const sent = outs[0]?.sent ?? 0;
  const disordered = outs.filter((o) => !o.inOrder).length;
  const dropped = Math.max(...outs.map((o) => o.dropped));
  return [
    `${lo === hi ? fmt(lo) : `${fmt(lo)}–${fmt(hi)}`}/${fmt(sent)}`,
    ...(disordered ? [`out of order in ${disordered}/${outs.length} rounds`] : []),
    ...(dropped ? [`up to ${fmt(dropped)} reported QUEUE_OVERFLOW`] : []),
  ].join(', ');
};

/** Messages per second (delivered / time from the first send to the last echo). */
export const rateOf = (o: Outcome): number => (o.delivered / o.ms) * 1000;

/**
 * One row of throughput: each client's median msgs/s, its ratio to raw, and what arrived.
 * `pattern` decides the SDK's target: windowed ≥ 0.95× raw; burst, everything in order.
 */
export const throughputFigures = (
  bench: string,
  rounds: PerRound<Outcome>,
  pattern: 'windowed' | 'burst',
): Figure[] => {
  const rates = rounds.map(
    (r) => Object.fromEntries(CLIENTS.map((c) => [c, rateOf(r[c])])) as Record<ClientName, number>,
  );
  return CLIENTS.map((c) => {
    const outs = rounds.map((r) => r[c]);
    const ratio = ratioOf(rates, c);
    const complete = outs.every((o) => o.delivered === o.sent && o.inOrder);
    const f: Figure = {
      bench,
      metric: c,
      client: c,
      value: round(median(rates.map((r) => r[c]))),
      unit: 'msgs/s',
      ratio: round(ratio, 2),
      note: delivery(outs),
    };
    if (c === SDK)
      Object.assign(
        f,
        pattern === 'windowed'
          ? { target: '≥ 0.95× raw', ok: ratio >= 0.95 && complete }
          : { target: 'all delivered, in order', ok: complete },
      );
    return f;
  });
};

/** One row of main-thread cost per received message (µs): lower is better; the SDK's target ≤ 1.05× raw. */
export const costFigures = (bench: string, rounds: PerRound<number>): Figure[] =>
  CLIENTS.map((c) => {
    const ratio = ratioOf(rounds, c);
    const f: Figure = {
      bench,
      metric: c,
      client: c,
      value: round(median(rounds.map((r) => r[c])), 2),
      unit: 'µs',
      ratio: round(ratio, 2),
    };
    if (c === SDK) Object.assign(f, { target: '≤ 1.05× raw', ok: ratio <= 1.05 });
    return f;
  });

/** Every round, for bench/results/latest.json. */
export const roundsDetail = (rounds: PerRound<Outcome>) =>
  rounds.map((r) =>
    Object.fromEntries(
      CLIENTS.map((c) => [
        c,
        {
          rate: round(rateOf(r[c])),
          ms: round(r[c].ms, 1),
          delivered: r[c].delivered,
          dropped: r[c].dropped,
          queued: r[c].queued,
          inOrder: r[c].inOrder,
        },
      ]),
    ),
  );

/** The order of the clients in round `i`: rotated, so no client always runs right after another. */
export const order = (i: number): ClientName[] =>
  CLIENTS.map((_, k) => CLIENTS[(i + k) % CLIENTS.length] as ClientName);

/** Runs `one` for every client in every round (rotated order), keeping the rounds after the warm-up. */
export const rounds = async <T>(
  warmup: number,
  n: number,
  one: (c: ClientName) => Promise<T>,
): Promise<PerRound<T>> => {
  const out: PerRound<T> = [];
  for (let i = 0; i < warmup + n; i++) {
    const r = {} as Record<ClientName, T>;
    for (const c of order(i)) r[c] = await one(c);
    if (i >= warmup) out.push(r);
  }
  return out;
};
