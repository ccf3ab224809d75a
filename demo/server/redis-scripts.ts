/**
 * The Lua scripts of the Redis bus: each one atomic step on the shared state (see
 * `redis-bus.ts` for the keys). Room log keys are built inside OPEN from a prefix, so the bus
 * runs on one Redis (or a primary), not a Redis Cluster.
 */

// First sight of a client id: a sorted set per session, newest SEEN_PER_SESSION kept.
// KEYS[1] the session's set; ARGV[1] the id, ARGV[2] how many to keep, ARGV[3] TTL ms.
export const SEEN = `
local t = redis.call('TIME')
if redis.call('ZADD', KEYS[1], 'NX', t[1] * 1000000 + t[2], ARGV[1]) == 0 then return 0 end
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

// Dedupe, id, append and publish in one step: no other instance can take an id in between, so
// every instance receives chat in id order, and a line is never in the log without its
// dedupe mark (or marked without being in the log) — whichever instance a re-send lands on.
// The line keeps its room alive: the room's activity, its last id (the floor a resume
// checks once the log is gone) and the log's PEXPIRE are refreshed; a log started afresh
// after one expired records that floor (XSETID MAXDELETEDID).
// KEYS: seq, log, session set, rooms, room last ids, forgotten. ARGV: message head, tail,
// envelope head, channel, log size, then the client id ('' for none), ids kept per session,
// session TTL, room idle ms, room.
export const POST = `
local t = redis.call('TIME')
if ARGV[6] ~= '' then
  if redis.call('ZADD', KEYS[3], 'NX', t[1] * 1000000 + t[2], ARGV[6]) == 0 then return false end
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[7]) + 1))
  redis.call('PEXPIRE', KEYS[3], ARGV[8])
end
local id = redis.call('INCR', KEYS[1])
local m = ARGV[1] .. id .. ARGV[2]
local fresh = redis.call('EXISTS', KEYS[2]) == 0
redis.call('XADD', KEYS[2], id .. '-0', 'm', m)
if fresh then
  local floor = math.max(tonumber(redis.call('GET', KEYS[6]) or '0'), tonumber(redis.call('HGET', KEYS[5], ARGV[10]) or '0'))
  if floor > 0 then redis.call('XSETID', KEYS[2], id .. '-0', 'MAXDELETEDID', floor .. '-0') end
end
redis.call('ZADD', KEYS[4], t[1] * 1000 + math.floor(t[2] / 1000), ARGV[10])
redis.call('HSET', KEYS[5], ARGV[10], id)
redis.call('PEXPIRE', KEYS[2], ARGV[9])
-- trim by XDEL, not MAXLEN: only XDEL records max-deleted-entry-id, the floor a resume checks
if redis.call('XLEN', KEYS[2]) > tonumber(ARGV[5]) then
  redis.call('XDEL', KEYS[2], redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1][1])
end
redis.call('PUBLISH', ARGV[4], ARGV[3] .. m .. '}')
return id`;

// A resume's read, atomic: the newest id, the room's floor (the newest id trimmed away, which
// Redis keeps as max-deleted-entry-id, since POST trims with XDEL; for a log that is gone, its
// last id or the newest forgotten) and the lines after max(afterId, floor).
// KEYS: seq, log, room last ids, forgotten. ARGV: afterId ('' for none: no lines), room.
export const REPLAY = `
local newest = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = 0
if redis.call('EXISTS', KEYS[2]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[2])
  for i = 1, #info, 2 do
    if info[i] == 'max-deleted-entry-id' then floor = tonumber(string.match(info[i + 1], '^%d+')) end
  end
else
  floor = math.max(tonumber(redis.call('GET', KEYS[4]) or '0'), tonumber(redis.call('HGET', KEYS[3], ARGV[2]) or '0'))
end
if ARGV[1] == '' then return { newest, floor, {} } end
local after = math.max(tonumber(ARGV[1]), floor)
return { newest, floor, redis.call('XRANGE', KEYS[2], string.format('%d-1', after), '+') }`;

// A join opens (or touches) its room: rooms idle for ARGV[2] ms are forgotten first (their logs
// deleted, their last ids folded into the forgotten floor), then a new room beyond ARGV[3] is refused.
// KEYS: rooms, room last ids, forgotten. ARGV: room, room idle ms, max rooms, log key prefix.
export const OPEN = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local idle = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if #idle > 0 then
  local forgotten = tonumber(redis.call('GET', KEYS[3]) or '0')
  for _, r in ipairs(idle) do
    forgotten = math.max(forgotten, tonumber(redis.call('HGET', KEYS[2], r) or '0'))
    redis.call('HDEL', KEYS[2], r)
    redis.call('DEL', ARGV[4] .. r)
    redis.call('ZREM', KEYS[1], r)
  end
  redis.call('SET', KEYS[3], forgotten)
end
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', ARGV[4] .. ARGV[1], ARGV[2])
return 1`;
