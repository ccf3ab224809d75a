// (a) Echo round-trip throughput in headless Chromium: the `<script>` build on the native
// WebSocket vs the native WebSocket alone, against the same `ws` echo server.

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS } from '../test/browser/helpers';
import { echoDetails, echoFigures } from './echo-figures';
import type { Round, RoundResult } from './echo-rounds';
import { distFile, type Figure, startEchoServer } from './lib';

// Chromium's WebSocket tops out near 5k msgs/s here (per-message IPC), and varies a lot from
// round to round: shorter rounds, more of them.
export const ROUND: Round = { total: 10_000, inflight: 100 };
export const WARMUP = 1;
export const ROUNDS = 15;

/** The system Chromium, launched as the browser suite launches it; never a downloaded browser. */
export const CHROMIUM = { executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS };

export const run = async (): Promise<{ figures: Figure[]; details: unknown }> => {
  const page = await build({
    entryPoints: [fileURLToPath(new URL('./echo-page.ts', import.meta.url))],
    bundle: true,
    write: false,
    format: 'iife',
    target: 'es2020',
  });
  const files: Record<string, [string, string | Buffer]> = {
    '/': [
      'text/html',
      '<!doctype html><meta charset="utf-8"><script src="/resilient-ws.min.js"></script><script src="/bench.js"></script>',
    ],
    '/resilient-ws.min.js': ['text/javascript', readFileSync(distFile('resilient-ws.min.js'))],
    '/bench.js': ['text/javascript', page.outputFiles.map((f) => f.text).join('\n')],
  };
  const http = createServer((req, res) => {
    const f = files[req.url ?? ''];
    res
      .writeHead(f ? 200 : 404, {
        'content-type': f ? f[0] : 'text/plain',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      })
      .end(f ? f[1] : 'not found');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const server = await startEchoServer();
  const browser = await chromium.launch(CHROMIUM);
  const raw: RoundResult[] = [];
  const lib: RoundResult[] = [];
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    // cross-origin isolated: performance.now() at 5 µs, not 100 µs, for the main-thread figures
    if (!(await tab.evaluate(() => crossOriginIsolated))) throw new Error('page is not cross-origin isolated');
    const one = (kind: 'raw' | 'sdk') =>
      tab.evaluate(([k, url, r]) => window.echoBench[k](url, r), [kind, server.url, ROUND] as const);
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const r = await one('raw');
      const s = await one('sdk');
      if (i >= WARMUP) {
        raw.push(r);
        lib.push(s);
      }
    }
    return {
      figures: echoFigures('echo (Chromium)', 'raw WebSocket', raw, lib),
      details: { chromium: browser.version(), ...ROUND, warmup: WARMUP, rounds: ROUNDS, ...echoDetails(raw, lib) },
    };
  } finally {
    await browser.close();
    server.stop();
    http.close();
  }
};
