/**
 * `npm run demo:cluster`: a private redis-server and three demo instances on consecutive
 * ports (8080, 8081, 8082 by default), joined through Redis, with pages that fail over between
 * the three. Kill one (`kill -9 PID`) and watch its clients move to the others.
 *
 *   tsx demo/cluster.ts [--port 8080]
 */
import { existsSync } from 'node:fs';
import { type Instance, spawnInstance } from './instances';
import { REDIS_BIN, type RedisServer, startRedis } from './redis-server';

const COUNT = 3;

function basePort(): number {
  const args = process.argv.slice(2);
  const i = args.indexOf('--port');
  const raw = i >= 0 ? args[i + 1] : process.env.PORT;
  const n = Number(raw ?? 8080);
  if (!Number.isInteger(n) || n < 1 || n > 65_535 - COUNT) {
    console.error(`invalid port: ${raw}`);
    process.exit(2);
  }
  return n;
}

async function main(): Promise<void> {
  if (!existsSync(REDIS_BIN)) {
    console.error('redis-server not found: install it with `apt-get install redis-server` (or set REDIS_SERVER)');
    process.exit(1);
  }
  const base = basePort();
  const redis: RedisServer = await startRedis();
  const ports = Array.from({ length: COUNT }, (_, i) => base + i);
  const endpoints = ports.map((p) => `ws://127.0.0.1:${p}/ws`);
  const names = ['a', 'b', 'c'];
  let instances: Instance[] = [];
  let stopping = false;

  const stop = async (code: number): Promise<void> => {
    if (stopping) process.exit(1); // a second signal: do not wait
    stopping = true;
    await Promise.all(instances.map((i) => i.stop()));
    await redis.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    instances = await Promise.all(
      ports.map((port, i) =>
        spawnInstance({
          port,
          redis: redis.url,
          endpoints,
          args: ['--chaos'], // the pages' chaos buttons; loopback only
          onLine: (line) => {
            // the instances' banners say what this one says below, once
            if (line.startsWith('[demo]')) console.log(`[${names[i]}] ${line.slice(7)}`);
          },
        }),
      ),
    );
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await stop(1);
    return;
  }
  instances.forEach((inst, i) => {
    inst.exited.then(() => {
      if (stopping) return;
      console.log(
        `\n[${names[i]}] exited. Its clients are on the others now. Restart it with:\n` +
          `  npx tsx demo/main.ts --chaos --port ${inst.port} --redis ${redis.url} --endpoints ${endpoints.join(',')}\n`,
      );
    });
  });

  const urls = `?urls=${endpoints.join(',')}`;
  console.log(`
resilient-ws demo cluster: ${COUNT} instances joined through Redis (${redis.url}, pid ${redis.pid})
${instances.map((inst, i) => `  ${names[i]}: ${inst.url}  pid ${inst.pid}`).join('\n')}

  plain page:  ${instances[0]?.url}/${urls}
  React page:  ${instances[0]?.url}/react.html${urls}
  (the pages try ${endpoints.join(', ')} in turn)

  kill one:    kill -9 ${instances[0]?.pid}    — its clients move to the others
  join one:    npm run demo -- --port ${base + COUNT} --redis ${redis.url}
Press Ctrl+C to stop everything.`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
