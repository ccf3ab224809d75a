// (a) Echo round-trip throughput in Node: the SDK vs a bare `ws` socket doing the same work.

import type { WebSocketConstructor } from 'resilient-ws';
import WebSocket from 'ws';
import { echoDetails, echoFigures } from './echo-figures';
import { type Round, type RoundResult, rawRound, sdkRound } from './echo-rounds';
import { type Figure, loadSdk, startEchoServer } from './lib';

export const ROUND: Round = { total: 20_000, inflight: 100 };
export const WARMUP = 2;
export const ROUNDS = 9;

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const sdk = await loadSdk();
  const WS = WebSocket as unknown as WebSocketConstructor;
  const server = await startEchoServer();
  const raw: RoundResult[] = [];
  const lib: RoundResult[] = [];
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      // interleaved, so drift (thermal, other load) hits both sides alike
      const r = await rawRound(WS, server.url, ROUND);
      const s = await sdkRound(sdk, WS, server.url, ROUND);
      if (i >= WARMUP) {
        raw.push(r);
        lib.push(s);
      }
    }
  } finally {
    server.stop();
  }
  return {
    figures: echoFigures('echo (Node, ws)', 'raw ws', raw, lib),
    details: { ...ROUND, warmup: WARMUP, rounds: ROUNDS, ...echoDetails(raw, lib) },
  };
};
