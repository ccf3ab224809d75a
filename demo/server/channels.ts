/**
 * The server side of `resilient-ws/channels` (docs/channels.md): `sub`/`unsub`/`publish`/
 * `reauth` from each connection, the channel events of the store to the local subscribers,
 * presence with a grace period, channel authorization from the token's user, and limits.
 */
import type { ChannelStore, Member } from './channels-store';
import { TOUCH_MS } from './channels-store';
import { closeConn, sendError, sendRaw } from './conn';
import type { tokens as makeTokens } from './tokens';
import type { Conn, ConnectionInfo, Ctx } from './types';

/** What the channel frames of one connection need. */
export interface Channels {
  /** Handles `sub`, `unsub`, `publish` (with its delivery id) and `reauth`. */
  handle(c: Conn, msg: Record<string, unknown>, id?: string): Promise<void>;
  close(): void;
}

const NAME = /^[\w.:-]{1,64}$/;

/** Why `user` may not use `channel`, or undefined: the authorization rule of the reference server. */
export function refusal(user: string | undefined, channel: unknown): string | undefined {
  if (typeof channel !== 'string' || !NAME.test(channel)) return 'invalid channel name';
  if (channel === 'forbidden' || channel.startsWith('forbidden:')) return 'not permitted';
  const owner = /^private:([^:]+)/.exec(channel)?.[1];
  if (owner !== undefined && owner !== user) return 'not permitted';
  return undefined;
}

interface Sub {
  client: string;
  epoch?: string;
  last: number;
  /** while the subscribe read waits for the store, this channel's events wait here, in order */
  held?: string[];
}

/** The channels of one instance, on `store`. */
export function channels(ctx: Ctx, store: ChannelStore, tokens: ReturnType<typeof makeTokens>): Channels {
  const {
    presenceGraceMs: graceMs,
    channelsPerConnection: maxPerConnection,
    maxChannels,
    maxPublish: maxData,
  } = ctx.limits;
  const subs = new Map<ConnectionInfo, { c: Conn; subs: Map<string, Sub> }>();
  const local = new Map<string, Set<Conn>>();
  /** members in their grace, by timer: still this instance's, so still touched (see `touch`) */
  const leaving = new Map<NodeJS.Timeout, { channel: string; client: string; owner: string }>();
  const owner = (c: Conn): string => `${ctx.bus.instance}/${c.info.id}`;

  const deliver = (c: Conn, s: Sub, frame: string, pos?: { epoch: string; offset: number }): void => {
    if (pos) {
      if (pos.epoch === s.epoch && pos.offset <= s.last) return;
      s.epoch = pos.epoch;
      s.last = pos.offset;
    }
    sendRaw(c, frame);
  };
  store.onEvent((channel, frame) => {
    const set = local.get(channel);
    if (set === undefined) return;
    const pos = frame.startsWith('{"type":"pub"')
      ? (JSON.parse(frame) as { epoch: string; offset: number })
      : undefined;
    for (const c of set) {
      const s = subs.get(c.info)?.subs.get(channel);
      if (s?.held) s.held.push(frame);
      else if (s) deliver(c, s, frame, pos);
    }
  });

  const drop = (c: Conn, channel: string): Sub | undefined => {
    const s = subs.get(c.info)?.subs.get(channel);
    subs.get(c.info)?.subs.delete(channel);
    const set = local.get(channel);
    set?.delete(c);
    if (set?.size === 0) local.delete(channel);
    return s;
  };

  const onClose = (info: ConnectionInfo): void => {
    const mine = subs.get(info);
    if (mine === undefined) return;
    subs.delete(info);
    for (const [channel, s] of mine.subs) {
      drop(mine.c, channel);
      // a reconnect within the grace takes the member over (a new owner): then this does nothing
      const held = { channel, client: s.client, owner: owner(mine.c) };
      const t = setTimeout(() => {
        leaving.delete(t);
        store.leave(channel, held.client, held.owner).catch((e) => ctx.log('leave:', e));
      }, graceMs);
      t.unref();
      leaving.set(t, held);
    }
  };
  ctx.events.on('close', onClose);

  const touch = setInterval(() => {
    // the members in their grace too: only this instance's end (a kill) may make them stale
    const held = [...leaving.values()];
    for (const { c, subs: m } of subs.values())
      for (const [channel, s] of m) held.push({ channel, client: s.client, owner: owner(c) });
    store.touch(held).catch((e) => ctx.log('touch:', e));
  }, TOUCH_MS);
  touch.unref();

  async function subscribe(c: Conn, msg: Record<string, unknown>): Promise<void> {
    const channel = msg.channel as string;
    const no = (reason: string): void => sendRaw(c, JSON.stringify({ type: 'sub_error', channel, reason }));
    const why = refusal(c.info.user, msg.channel);
    if (why) return no(why);
    const client = msg.client;
    if (typeof client !== 'string' || client.length < 1 || client.length > 64)
      return no('client must be a short string');
    let mine = subs.get(c.info);
    if (mine === undefined) subs.set(c.info, (mine = { c, subs: new Map() }));
    let s = mine.subs.get(channel);
    if (s === undefined) {
      if (mine.subs.size >= maxPerConnection) return no(`too many channels (at most ${maxPerConnection})`);
      if (!local.has(channel) && local.size >= maxChannels) return no('too many channels on this server');
      s = { client, last: 0 };
      mine.subs.set(channel, s);
      const set = local.get(channel) ?? new Set<Conn>();
      set.add(c);
      local.set(channel, set);
    }
    s.held = []; // from now on, nothing of this channel overtakes the replay
    const since =
      typeof msg.epoch === 'string' && typeof msg.offset === 'number' && Number.isFinite(msg.offset)
        ? { epoch: msg.epoch, offset: msg.offset }
        : undefined;
    const member: Member = { client, user: c.info.user ?? '' };
    let read: Awaited<ReturnType<ChannelStore['read']>>;
    let members: Member[];
    try {
      await store.join(channel, member, owner(c));
      read = await store.read(channel, since);
      members = await store.members(channel);
    } catch (err) {
      // no answer would leave the channel waiting: the client reconnects and asks again
      ctx.log(`#${c.info.id} channel store:`, err);
      drop(c, channel);
      return closeConn(c, 1011, 'channels unavailable');
    }
    if (c.closing || mine.subs.get(channel) !== s) return;
    sendRaw(
      c,
      JSON.stringify({
        type: 'subscribed',
        channel,
        epoch: read.epoch,
        offset: read.offset,
        recovered: read.recovered,
        members,
      }),
    );
    for (const frame of read.pubs) sendRaw(c, frame);
    s.epoch = read.epoch;
    s.last = read.offset;
    const held = s.held;
    s.held = undefined;
    for (const frame of held) {
      const pos = frame.startsWith('{"type":"pub"')
        ? (JSON.parse(frame) as { epoch: string; offset: number })
        : undefined;
      deliver(c, s, frame, pos);
    }
  }

  return {
    async handle(c, msg, id) {
      switch (msg.type) {
        case 'sub':
          return subscribe(c, msg);
        case 'unsub': {
          const s = typeof msg.channel === 'string' ? drop(c, msg.channel) : undefined;
          if (s) await store.leave(msg.channel as string, s.client, owner(c));
          return;
        }
        case 'publish': {
          const why = refusal(c.info.user, msg.channel);
          if (why) return sendError(c, `publish: ${why}`);
          const data = JSON.stringify(msg.data ?? null);
          if (data.length > maxData) return sendError(c, `publish: data over ${maxData} bytes`);
          await store.publish(
            msg.channel as string,
            msg.data ?? null,
            id === undefined ? undefined : { user: c.info.user ?? '', id },
          );
          return;
        }
        case 'reauth': {
          const token = msg.token;
          const check = typeof token === 'string' ? tokens.check(token) : { ok: false as const, reason: 'no token' };
          if (!check.ok || check.user !== c.info.user) {
            ctx.log(`#${c.info.id} reauth refused`);
            return closeConn(c, 4002, check.ok ? 'another user' : check.reason);
          }
          ctx.events.emit('reauth', c.info, check.expiresAt);
          sendRaw(c, JSON.stringify({ type: 'reauthed', expiresAt: check.expiresAt }));
          return;
        }
      }
    },
    close() {
      clearInterval(touch);
      for (const t of leaving.keys()) clearTimeout(t);
      ctx.events.off('close', onClose);
    },
  };
}
