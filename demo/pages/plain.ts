// The plain page: the SDK comes from the `<script>` build (`/dist/resilient-ws.min.js`, global
// `ResilientWS`); this script is bundled by esbuild as an IIFE and never imports the SDK itself.
// Everything the user or the server writes is rendered with `textContent`.
import type { State, StateDetail, WebSocketClient, WebSocketClientError } from 'resilient-ws';
import type { Channel } from 'resilient-ws/channels';
import type { ChatMsg, ClientMsg, PriceMsg, ServerMsg } from '../protocol';
import { SHARE_NAME, SHARED, setShared, tabRole } from './share-tabs';
import {
  type ChaosAction,
  chaos,
  demoOptions,
  fmtChange,
  fmtCountdown,
  fmtLatency,
  fmtPrice,
  fmtTime,
  type LogKind,
  stateText,
  TokenSource,
} from './shared';

declare global {
  /** Set by `<script src="/dist/resilient-ws.min.js">`, and `…extras.min.js` (delivery, request, outbox). */
  const ResilientWS: typeof import('resilient-ws') &
    typeof import('resilient-ws/delivery') &
    typeof import('resilient-ws/request') &
    typeof import('resilient-ws/shared') &
    typeof import('resilient-ws/outbox') &
    typeof import('resilient-ws/channels');
  interface Window {
    /** For a browser test or the console. */
    demo?: { client: WebSocketClient<ServerMsg, ClientMsg>; tokens: TokenSource };
  }
}

function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`#${id} missing from the page`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className?: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className !== undefined) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const MAX_LINES = 200;

function prepend(list: HTMLElement, item: HTMLElement): void {
  list.prepend(item);
  while (list.childElementCount > MAX_LINES) list.lastElementChild?.remove();
}

function log(kind: LogKind, text: string): void {
  const li = el('li', kind);
  li.dataset.kind = kind;
  li.append(el('time', undefined, fmtTime(Date.now())), text);
  prepend($('event-log'), li);
}

const tokens = new TokenSource(log);

if (typeof ResilientWS === 'undefined') {
  log('error', 'ResilientWS global missing: build the library (npm run build) and reload');
  throw new Error('ResilientWS global missing');
}

// Chat state the page re-applies on every open (the server forgets it with the connection).
let username: string | undefined;
let room: string | undefined = 'lobby';
const seenChat = new Set<number>();

// connected at the end of this script, once every listener is in place to see it
const options = { ...demoOptions(tokens), autoConnect: false };
// "share across tabs": one connection for every tab of the demo (resilient-ws/shared)
const client = SHARED
  ? ResilientWS.sharedClient<ServerMsg, ClientMsg>({ ...options, name: SHARE_NAME })
  : new ResilientWS.WebSocketClient<ServerMsg, ClientMsg>(options);
// what was sent and not yet acknowledged survives a reload, and goes first on the next load
const box = ResilientWS.outbox(client, { name: 'demo-chat', delivery: true });
// at-least-once: chat messages carry ids until acked; missed chat is replayed after a reconnect
const delivery = ResilientWS.delivery(client, { resume: true });
box.restored.then((n) => n > 0 && log('info', `restored ${n} messages`));
window.demo = { client, tokens };

// ------------------------------------------------------------------ connection status

let retryAt: number | undefined;

function renderStatus(): void {
  const badge = $('state');
  if (badge.dataset.state !== client.state) {
    badge.dataset.state = client.state;
    badge.textContent = client.state;
  }
  $('queued').textContent = String(client.queued);
  $('unacked').textContent = String(delivery.unacked);
  $('latency').textContent = fmtLatency(client.latency);
  // the attempt counter only resets after a stable connection, so it means something only while reconnecting
  $('attempt').textContent = client.state === 'reconnecting' ? String(client.attempt) : '–';
  $('countdown').textContent = client.state === 'reconnecting' ? fmtCountdown(retryAt) : '–';
  $('token-info').textContent = tokens.describe();
  $('tab-role').textContent = tabRole(client);
}

client.onStateChange((state: State, detail: StateDetail) => {
  retryAt = state === 'reconnecting' && detail.delay !== undefined ? Date.now() + detail.delay : undefined;
  const text = stateText(state, detail);
  log('state', text);
  if (state === 'open') {
    // What an open listener sends goes out before the queue: re-join here.
    if (username !== undefined) client.send({ type: 'set_username', username }, { queue: false });
    if (room !== undefined) client.send({ type: 'join', room }, { queue: false });
  }
  renderStatus();
});

client.onError((err: WebSocketClientError) => {
  log('error', err.message);
  renderStatus();
});

client.onLatency(() => renderStatus());
setInterval(renderStatus, 200);

client.on('auth_ok', (m) => {
  $('user').textContent = `as ${m.user}`;
});
client.on('error', (m) => log('error', `server: ${m.message}`));

// ------------------------------------------------------------------ chat

function chatLine(className: string, time: number, who: string | undefined, text: string): void {
  const li = el('li', className);
  li.dataset.testid = 'chat-line';
  li.append(el('time', undefined, fmtTime(time)));
  if (who !== undefined) li.append(el('span', 'who', who));
  li.append(el('span', 'text', text));
  const list = $('chat-log');
  list.append(li);
  while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
  list.scrollTop = list.scrollHeight;
}

client.on('chat', (m: ChatMsg) => {
  if (seenChat.has(m.id)) return; // history replayed on re-join
  seenChat.add(m.id);
  chatLine(m.replay ? 'replay' : '', m.timestamp, m.user, m.text);
});

client.on('system', (m) => {
  chatLine('system', m.timestamp, undefined, m.text);
});

function renderRoom(): void {
  $('current-room').textContent = room ?? '—';
}

$<HTMLFormElement>('username-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $<HTMLInputElement>('username').value.trim();
  if (name === '') return;
  username = name;
  const r = client.send({ type: 'set_username', username: name }, { queue: false });
  if (r !== 'sent') log('info', `username ${name} will be sent on the next open`);
});

$<HTMLFormElement>('room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $<HTMLInputElement>('room').value.trim();
  if (name === '') return;
  room = name;
  renderRoom();
  const r = client.send({ type: 'join', room: name }, { queue: false });
  if (r !== 'sent') log('info', `will join ${name} on the next open`);
});

$('leave').addEventListener('click', () => {
  room = undefined;
  renderRoom();
  client.send({ type: 'leave' }, { queue: false });
});

$<HTMLFormElement>('message-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('message');
  const text = input.value;
  if (text.trim() === '') return;
  const result = client.send({ type: 'message', text });
  input.value = '';
  if (result !== 'sent') log('info', `message ${result} (${client.queued} waiting)`);
  renderStatus();
});

renderRoom();

// ------------------------------------------------------------------ rooms on channels

/** A line of a channel room: what the page publishes (the channel carries it as it is). */
type RoomLine = { user: string; text: string; at: number };

// the room is the channel `room:<name>`, recovered where it stopped after every reconnect
const rooms = ResilientWS.channels(client);
let me = 'me';
client.on('auth_ok', (m) => {
  me = m.user;
});
let current: Channel<RoomLine> | undefined;

function enter(name: string): void {
  current?.unsubscribe();
  $('ch-log').replaceChildren();
  const ch = (current = rooms.subscribe<RoomLine>(`room:${name}`));
  $('ch-room').textContent = ch.name;
  $('ch-state').textContent = ch.state;
  ch.onStateChange((s) => {
    $('ch-state').textContent = s;
  });
  ch.on((line) => {
    const li = el('li');
    li.dataset.testid = 'channel-line';
    li.append(el('time', undefined, fmtTime(line.at)), el('span', 'who', line.user), el('span', 'text', line.text));
    const list = $('ch-log');
    list.append(li);
    while (list.childElementCount > MAX_LINES) list.firstElementChild?.remove();
  });
  const members = (): void => {
    $('ch-members').textContent = ch.presence.members.map((m) => m.user).join(', ');
  };
  members();
  ch.presence.onChange(members);
}

$<HTMLFormElement>('ch-room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $<HTMLInputElement>('ch-room-input').value.trim();
  if (name !== '' && `room:${name}` !== current?.name) enter(name);
});

$<HTMLFormElement>('ch-message-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $<HTMLInputElement>('ch-message');
  if (input.value.trim() === '') return;
  current?.publish({ user: me, text: input.value, at: Date.now() });
  input.value = '';
});

enter('lobby');

// ------------------------------------------------------------------ prices

const priceRows = new Map<string, HTMLTableRowElement>();

client.on('price', (m: PriceMsg) => {
  let row = priceRows.get(m.symbol);
  if (row === undefined) {
    row = el('tr');
    row.dataset.symbol = m.symbol;
    row.append(el('td', 'symbol', m.symbol), el('td', 'price'), el('td', 'change'));
    priceRows.set(m.symbol, row);
    $('prices').querySelector('tbody')?.append(row);
  }
  const [, price, change] = Array.from(row.cells);
  if (price !== undefined) price.textContent = fmtPrice(m.price);
  if (change !== undefined) {
    change.textContent = fmtChange(m.change);
    change.className = `change ${m.change >= 0 ? 'up' : 'down'}`;
  }
});

// ------------------------------------------------------------------ controls

$<HTMLInputElement>('short-token').addEventListener('change', (e) => {
  tokens.shortLived = (e.target as HTMLInputElement).checked;
  log(
    'info',
    tokens.shortLived ? 'short-lived tokens from the next open on' : 'fixed demo-token from the next open on',
  );
  renderStatus();
});

$<HTMLInputElement>('share-tabs').checked = SHARED;
$<HTMLInputElement>('share-tabs').addEventListener('change', (e) => setShared((e.target as HTMLInputElement).checked));

$('connect').addEventListener('click', () => client.connect());
$('server-time').addEventListener('click', async () => {
  const asked = Date.now();
  try {
    const reply = await ResilientWS.request(client, { type: 'request', op: 'time' }, { reply: 'reply', timeout: 5000 });
    log('info', `server time ${fmtTime(reply.time ?? 0)} (reply after ${Date.now() - asked} ms)`);
  } catch (err) {
    log('error', `request: ${(err as WebSocketClientError).code ?? String(err)}`);
  }
});
$('disconnect').addEventListener('click', () => client.close());

for (const action of ['drop', 'stall', 'restart'] as const satisfies readonly ChaosAction[]) {
  $(`chaos-${action}`).addEventListener('click', () => {
    void chaos(action).then((line) => log('chaos', line));
  });
}

$('clear-log').addEventListener('click', () => $('event-log').replaceChildren());

renderStatus();

client.connect();
