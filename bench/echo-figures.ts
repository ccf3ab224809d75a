// The figures of an echo benchmark, from interleaved raw/SDK rounds.
import type { RoundResult } from './echo-rounds';
import { type Figure, median, round } from './lib';

export const echoFigures = (bench: string, rawName: string, raw: RoundResult[], sdk: RoundResult[]): Figure[] => {
  const rate = (xs: RoundResult[]) => median(xs.map((x) => x.rate));
  const us = (xs: RoundResult[]) => median(xs.map((x) => x.us));
  const ratio = rate(sdk) / rate(raw);
  return [
    { bench, metric: `${rawName}, median`, value: round(rate(raw)), unit: 'msgs/s' },
    { bench, metric: 'SDK, median', value: round(rate(sdk)), unit: 'msgs/s' },
    { bench, metric: 'SDK / raw', value: round(ratio, 3), unit: '', target: '>= 0.95', ok: ratio >= 0.95 },
    { bench, metric: `main-thread time per message, ${rawName}`, value: round(us(raw), 2), unit: 'µs' },
    { bench, metric: 'main-thread time per message, SDK', value: round(us(sdk), 2), unit: 'µs' },
  ];
};

export const echoDetails = (raw: RoundResult[], sdk: RoundResult[]) => ({
  raw: raw.map((x) => ({ rate: round(x.rate), us: round(x.us, 2) })),
  sdk: sdk.map((x) => ({ rate: round(x.rate), us: round(x.us, 2) })),
});
