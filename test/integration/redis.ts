// The test suite's Redis: a private redis-server on a free loopback port, stopped by PID
// (the same helper `npm run demo:cluster` uses).
export { freePort, type RedisServer, startRedis } from '../../demo/redis-server';
