/**
 * `npm run demo` entry: starts the demo server and prints the pages' URLs.
 *
 *   tsx demo/main.ts [--port 8080] [--host 127.0.0.1]      (or PORT=8080)
 *                    [--redis redis://127.0.0.1:6379]       (or REDIS_URL: join a cluster)
 *                    [--endpoints ws://…/ws,ws://…/ws]      (the cluster's endpoints, for the pages)
 *                    [--quiet]                              (no log line per connection)
 *                    [--no-replay]                          (no history on join)
 *                    [--allowed-hosts a.example,b.example]  (names besides localhost and --host)
 *                    [--unsafe-public]                      (allow a non-loopback --host: see below)
 *                    [--chaos]                              (serve POST /chaos/*: demo-only)
 *
 * The fixed tokens, `GET /token` and the chaos controls are demo-only: a `--host` that is not a
 * loopback address is refused unless `--unsafe-public` says you know (docs/security.md).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_ONLY, isLoopbackHost } from './server/hosts';
import { startDemoServer } from './server/index';

function argValue(name: string): string | undefined {
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === `--${name}`) return args[i + 1];
    if (a?.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}

function parsePort(raw: string | undefined): number {
  if (raw === undefined || raw === '') return 8080;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    console.error(`invalid port: ${raw}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  const port = parsePort(argValue('port') ?? process.env.PORT);
  const host = argValue('host') ?? '127.0.0.1';
  if (!isLoopbackHost(host) && !process.argv.includes('--unsafe-public')) {
    console.error(`refusing to listen on ${host} (not a loopback address) without --unsafe-public.\n${DEMO_ONLY}`);
    process.exit(2);
  }
  const redis = argValue('redis') ?? process.env.REDIS_URL;
  const endpoints = argValue('endpoints')?.split(',').filter(Boolean) ?? [];
  const chaos = process.argv.includes('--chaos');
  const allowedHosts = argValue('allowed-hosts')?.split(',').filter(Boolean);
  const server = await startDemoServer({
    port,
    host,
    replay: true,
    redis: redis || undefined,
    endpoints,
    quiet: process.argv.includes('--quiet'),
    chaos,
    allowedHosts,
  });
  const urls = endpoints.length > 0 ? `?urls=${endpoints.join(',')}` : '';

  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const missing = [
    ['dist/resilient-ws.min.js', 'npm run build'],
    ['demo/dist/plain.js', 'npx tsx demo/build.ts'],
    ['demo/dist/react.js', 'npx tsx demo/build.ts'],
  ].filter(([file]) => !existsSync(path.join(repo, file ?? '')));

  console.log(`
resilient-ws demo
  plain page (<script> build):  ${server.url}/${urls}
  React page:                   ${server.url}/react.html${urls}
  Vue page:                     ${server.url}/vue.html${urls}
  WebSocket endpoint:           ${server.wsUrl}
  bus:                          ${redis ? `Redis ${redis} (instance ${server.instance})` : 'in-process'}

  tokens: demo-token, alice, bob — or a short-lived one from ${server.url}/token?ttl=20
          (demo-only, like the chaos controls: never on a server that faces the internet)
  chaos:  ${chaos ? `POST ${server.url}/chaos/drop | /chaos/stall | /chaos/restart?down=3000` : "off (start with --chaos for the pages' Drop, Stall and Restart buttons)"}
  stats:  ${server.url}/stats
`);
  for (const [file, cmd] of missing)
    console.warn(`  warning: ${file} is missing — run \`${cmd}\` (or \`npm run demo\`)`);
  console.log('Press Ctrl+C to stop.');

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1); // a second signal: do not wait
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
