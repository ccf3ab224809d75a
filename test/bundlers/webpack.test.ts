// A real webpack 5 development build and production build of a small app against the packed
// package, loaded in Chromium: the development checks run in the development build (the
// `development` export condition); the production build has none of them and keeps the
// production size; and a webpack told of no such condition takes the default file.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import webpack, { type Configuration } from 'webpack';
import { launchChromium } from '../browser/helpers';
import { coreBudget, DEV_TEXTS, echoServer, gzipSize, pageResults, type Scratch, scratchApp, serveDir } from './app';
import { expectDevelopment, expectProduction } from './expect';

let app: Scratch;
let browser: Browser;
let echo: Awaited<ReturnType<typeof echoServer>>;

beforeAll(async () => {
  [app, browser, echo] = await Promise.all([scratchApp(), launchChromium(), echoServer()]);
});

afterAll(async () => {
  await browser?.close();
  await echo?.close();
  app?.remove();
});

/** Builds the app (and the size entry) with webpack; returns the output and the package files read. */
const pack = (name: string, config: Configuration) =>
  new Promise<{ dir: string; read: (file: string) => string; files: string[] }>((resolve, reject) => {
    const dir = path.join(app.dir, name);
    webpack(
      {
        context: app.dir,
        entry: { main: './main.js', size: './size.js', empty: './empty.js' },
        output: { path: dir, filename: '[name].js' },
        devtool: false,
        performance: { hints: false },
        infrastructureLogging: { level: 'none' },
        ...config,
      },
      (err, stats) => {
        if (err || !stats || stats.hasErrors()) return reject(err ?? new Error(stats?.toString('errors-only')));
        writeFileSync(path.join(dir, 'index.html'), '<!doctype html><html><body><script src="main.js"></script>');
        const files = [...stats.compilation.fileDependencies]
          .filter((f) => f.includes('node_modules/resilient-ws/dist/'))
          .map((f) => path.basename(f))
          .sort();
        resolve({ dir, read: (file) => readFileSync(path.join(dir, file), 'utf8'), files });
      },
    );
  });

const open = async (dir: string) => {
  const site = await serveDir(dir);
  try {
    return await pageResults(browser, `${site.url}/?ws=${encodeURIComponent(echo.url)}`);
  } finally {
    await site.close();
  }
};

describe('webpack 5', () => {
  it('mode development: the development files, and the checks run in the browser', async () => {
    const out = await pack('dev', { mode: 'development' });
    expect(out.files).toEqual(['delivery.development.mjs', 'index.development.mjs']);
    expectDevelopment(await open(out.dir));
  });

  it('mode production: the production files, no development text, within the production budget', async () => {
    const out = await pack('prod', { mode: 'production' });
    expect(out.files).toEqual(['delivery.production.mjs', 'index.production.mjs']);
    const main = out.read('main.js');
    expect(DEV_TEXTS.test(main)).toBe(false);
    expect(/\bprocess\b/.test(main)).toBe(false);
    expectProduction(await open(out.dir));
    // the core's share of the bundle: the app's size less webpack's own runtime (an app without it)
    const bytes = gzipSize(out.read('size.js'));
    const runtime = gzipSize(out.read('empty.js'));
    console.log(
      `webpack production build of \`import { WebSocketClient }\`: ${bytes} B gzip (${runtime} B without it)`,
    );
    expect(bytes - runtime).toBeLessThanOrEqual(await coreBudget());
  });

  it('without the conditions: the default files, where `process.env.NODE_ENV` decides', async () => {
    // webpack replaces `process.env.NODE_ENV` by the mode, but a browser has no `process`: the
    // default file's check is off in the page (why the conditions exist), and a production
    // build drops the texts all the same
    const conditionNames = ['webpack', 'import', 'module', 'browser', 'default'];
    const dev = await pack('plain-dev', { mode: 'development', resolve: { conditionNames } });
    expect(dev.files).toEqual(['delivery.mjs', 'index.mjs']);
    expect((await open(dev.dir)).options.misspelt).toBe('accepted');
    const prod = await pack('plain-prod', { mode: 'production', resolve: { conditionNames } });
    expect(prod.files).toEqual(['delivery.mjs', 'index.mjs']);
    expect(DEV_TEXTS.test(prod.read('main.js'))).toBe(false);
  });
});
