// The reference server for the fallback bench, in its own process: no price stream, no rate
// limit worth the name (the bench measures the transports, not the limits). Prints its port.
import { startDemoServer } from '../demo/server/index';

const server = await startDemoServer({
  quiet: true,
  priceIntervalMs: 0,
  rateLimit: 1e9,
  httpTransport: { postRate: 1e9 },
});
process.stdout.write(`port ${server.port}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
