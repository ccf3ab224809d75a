// A real Vite dev server and a real Vite production build of a small app against the packed
// package, loaded in Chromium: the development checks run in the dev server (the `development`
// export condition), and the production build has none of them and keeps the production size.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { build, createServer, type ViteDevServer } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../browser/helpers';
import { coreBudget, DEV_TEXTS, echoServer, gzipSize, pageResults, type Scratch, scratchApp, serveDir } from './app';
import { expectDevelopment, expectProduction } from './expect';

let app: Scratch;
let browser: Browser;
let echo: Awaited<ReturnType<typeof echoServer>>;

beforeAll(async () => {
  [app, browser, echo] = await Promise.all([scratchApp(), launchChromium(), echoServer()]);
  writeFileSync(
    path.join(app.dir, 'index.html'),
    '<!doctype html><html><body><script type="module" src="/main.js"></script></body></html>',
  );
});

afterAll(async () => {
  await browser?.close();
  await echo?.close();
  app?.remove();
});

const base = () => ({ root: app.dir, configFile: false as const, logLevel: 'silent' as const });

describe('vite dev server', () => {
  let server: ViteDevServer;
  afterAll(() => server?.close());

  it('runs the development checks: options named, with suggestions, and the heartbeat advice', async () => {
    server = await createServer({
      ...base(),
      cacheDir: path.join(app.dir, '.vite'),
      server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
    });
    await server.listen();
    const url = server.resolvedUrls!.local[0]!;
    expectDevelopment(await pageResults(browser, `${url}?ws=${encodeURIComponent(echo.url)}`));
  });
});

describe('vite build (production)', () => {
  /** Builds `input` for production into `outDir`; returns the JS and the package files it took. */
  const production = async (input: string, outDir: string) => {
    // `vite build` run by a user has NODE_ENV unset and makes it production (which picks the
    // `production` condition); this worker has vitest's `test`
    const env = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    const out = (await build({
      ...base(),
      build: {
        outDir,
        emptyOutDir: true,
        modulePreload: { polyfill: false },
        rollupOptions: { input: path.join(app.dir, input) },
      },
    }).finally(() => {
      process.env.NODE_ENV = env;
    })) as { output: { type: string; code?: string; moduleIds?: string[]; fileName: string }[] };
    const chunks = out.output.filter((o) => o.type === 'chunk');
    return {
      code: chunks.map((c) => c.code).join('\n'),
      modules: chunks.flatMap((c) => c.moduleIds ?? []).filter((m) => m.includes('node_modules/resilient-ws/')),
      dir: outDir,
    };
  };

  it('takes the production files, holds no development text, and behaves as production', async () => {
    const { code, modules, dir } = await production('index.html', path.join(app.dir, 'dist-app'));
    expect(modules.map((m) => path.basename(m)).sort()).toEqual(['delivery.production.mjs', 'index.production.mjs']);
    expect(DEV_TEXTS.test(code)).toBe(false);
    expect(/\bprocess\b/.test(code)).toBe(false);
    const site = await serveDir(dir);
    try {
      expectProduction(await pageResults(browser, `${site.url}/?ws=${encodeURIComponent(echo.url)}`));
    } finally {
      await site.close();
    }
  });

  it('keeps the core within its production budget', async () => {
    const gzipOf = async (input: string) => {
      const out = await production(input, path.join(app.dir, `dist-${input}`));
      const js = readdirSync(path.join(out.dir, 'assets')).filter((f) => f.endsWith('.js'));
      expect(js).toHaveLength(1);
      return gzipSize(readFileSync(path.join(out.dir, 'assets', js[0]!), 'utf8'));
    };
    // the core's share of the bundle: the app's size less Vite's own output for an app without it
    const bytes = await gzipOf('size.js');
    const runtime = await gzipOf('empty.js');
    console.log(`vite production build of \`import { WebSocketClient }\`: ${bytes} B gzip (${runtime} B without it)`);
    expect(bytes - runtime).toBeLessThanOrEqual(await coreBudget());
  });
});
