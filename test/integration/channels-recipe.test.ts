// The recipe of docs/channels.md: the test server is the docs' code to the letter, and the
// client keeps its promises against it (recovery under cuts, a lost stream as one gap,
// refusals, presence across a brief cut, live refresh).
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';
import { type Message, WebSocketClient, type WebSocketClientError } from 'resilient-ws';
import { channels } from 'resilient-ws/channels';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { audit, cutter, keeping, type Peer, peer, publishing, sleep, until } from './channels-harness';
import { type ChannelsRecipeServer, channelsRecipeServer } from './channels-recipe-server';

const read = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');
/** `code` as esbuild prints it: comments, types and layout normalised away. */
const print = (code: string, loader: 'js' | 'ts') => transformSync(code, { loader, format: 'esm' }).code;

describe('the test server is the docs’ recipe', () => {
  it('prints the same, types stripped', () => {
    const docs = read('../../docs/channels.md');
    const from = docs.indexOf('**Server recipe.**');
    const js = docs.slice(docs.indexOf('```js\n', from) + 6, docs.indexOf('```', docs.indexOf('```js\n', from) + 6));
    const recipe = js
      .replace("import { WebSocketServer } from 'ws';", '')
      .replace('const wss = new WebSocketServer({ port: 8080 });', '')
      .replace("wss.on('connection', (ws) => {", 'const connection = (ws) => {')
      .replace(/\}\);\s*$/, '};');
    const source = read('./channels-recipe-server.ts');
    const ours = source.slice(
      source.indexOf('// ---- the recipe ----'),
      source.indexOf("// ---- the tests' wiring ----"),
    );
    expect(print(ours, 'ts')).toBe(print(recipe, 'js'));
  });
});

describe('the client against the recipe', () => {
  let srv: ChannelsRecipeServer;
  const peers: Peer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.client.dispose();
    await srv?.close();
  });
  const add = (p: Peer) => {
    peers.push(p);
    return p;
  };

  it('20 clients × 3 of 6 channels under cuts: once, in order, nothing lost', async () => {
    srv = await channelsRecipeServer();
    const names = Array.from({ length: 6 }, (_, i) => `c${i}`);
    const subs = Array.from({ length: 20 }, (_, i) =>
      add(
        peer(
          [srv.url],
          [0, 1, 2].map((k) => `c${(i + 2 * k) % 6}`),
        ),
      ),
    );
    const pubs = [add(peer([srv.url], [])), add(peer([srv.url], []))];
    await until(() => subs.every((p) => [...p.subs.values()].every((c) => c.state === 'subscribed')), 5000);
    const run = publishing(pubs, names, 50);
    const cuts = cutter([...subs, ...pubs]);
    await sleep(3000);
    cuts.stop();
    run.stop();
    await until(() => pubs.every((p) => p.d.unacked === 0 && p.client.queued === 0), 10_000);
    await until(
      () => subs.every((p) => [...p.got].every(([n, got]) => got.length >= (run.sent.get(n)?.length ?? 0))),
      10_000,
    );
    await sleep(200);
    expect(audit(subs, run.sent)).toMatchObject({
      duplicates: 0,
      reorders: 0,
      silentSkips: 0,
      lost: 0,
      gapsReported: 0,
    });
  });

  it('a lost stream is one gap; a refusal is failed and not retried', async () => {
    srv = await channelsRecipeServer();
    const p = add(peer([srv.url], ['room', 'forbidden:x']));
    const w = add(peer([srv.url], []));
    await until(
      () => p.subs.get('room')?.state === 'subscribed' && p.subs.get('forbidden:x')?.state === 'failed',
      5000,
    );
    channels(w.client).publish('room', { p: 0, n: 1 });
    await until(() => p.got.get('room')?.length === 1, 5000);
    srv.lose('room');
    p.sockets.at(-1)?.terminate();
    await until(() => p.opens === 2 && p.subs.get('room')?.state === 'subscribed', 5000);
    channels(w.client).publish('room', { p: 0, n: 2 });
    await until(() => p.got.get('room')?.length === 2, 5000);
    expect(p.errors.map((e) => e.code)).toEqual(['CHANNEL_REFUSED', 'CHANNEL_GAP']);
  });

  it('presence: a brief cut is no leave; unsubscribe is', async () => {
    srv = await channelsRecipeServer();
    const a = add(peer([srv.url], ['room'], 'alice'));
    const b = add(peer([srv.url], ['room'], 'bob'));
    await until(() => a.subs.get('room')?.presence.members.length === 2, 5000);
    const changes: unknown[] = [];
    a.subs.get('room')?.presence.onChange((_m, c) => changes.push(c));
    b.sockets.at(-1)?.terminate();
    await until(() => b.opens === 2 && b.subs.get('room')?.state === 'subscribed', 5000);
    await sleep(300);
    expect(changes).toEqual([]);
    b.subs.get('room')?.unsubscribe();
    await until(() => changes.length === 1, 2000);
    expect(a.subs.get('room')?.presence.members.map((m) => m.user)).toEqual(['alice']);
  });

  it('live refresh: fresh tokens on one connection', async () => {
    srv = await channelsRecipeServer();
    const errors: WebSocketClientError[] = [];
    const sockets: WebSocket[] = [];
    const client = new WebSocketClient<Message, Message>({
      url: srv.url,
      WebSocket: keeping(sockets),
      auth: {
        message: () => ({ type: 'auth', token: `carol.${Date.now() + 1500}` }),
        isAck: (m) => m.type === 'auth_ok',
      },
      heartbeat: false,
      pageEvents: false,
    });
    client.onError((e) => errors.push(e));
    const ch = channels(client);
    const room = ch.subscribe('room');
    let reauthed = 0;
    client.use({ message: (m) => void (m.type === 'reauthed' && reauthed++) });
    await sleep(4500);
    expect(reauthed).toBeGreaterThanOrEqual(2);
    expect(sockets).toHaveLength(1);
    expect(room.state).toBe('subscribed');
    expect(errors).toEqual([]);
    client.dispose();
  });
});
