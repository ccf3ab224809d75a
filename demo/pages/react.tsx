// The React page: `resilient-ws/react` hooks under React.StrictMode (development build, so the
// double mount happens and the page shows one socket is still all it opens). All text is React
// text, never HTML.

import { type FormEvent, StrictMode, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { createRoot } from 'react-dom/client';
import type { WebSocketClient } from 'resilient-ws';
import { type Delivery, delivery } from 'resilient-ws/delivery';
import { outbox } from 'resilient-ws/outbox';
import {
  useChannel,
  useConnectionState,
  useLastMessage,
  useMessage,
  usePresence,
  useWebSocket,
  useWebSocketClient,
  WebSocketProvider,
} from 'resilient-ws/react';
import { request } from 'resilient-ws/request';
import { sharedClient } from 'resilient-ws/shared';
import type { ChatMsg, ClientMsg, PriceMsg, ServerMsg } from '../protocol';
import { SHARE_NAME, SHARED, setShared, tabRole } from './share-tabs';
import {
  chaos,
  type DemoOptions,
  demoOptions,
  fmtChange,
  fmtCountdown,
  fmtLatency,
  fmtPrice,
  fmtTime,
  type LogEntry,
  type LogKind,
  logEntry,
  stateText,
  TokenSource,
} from './shared';

type DemoClient = WebSocketClient<ServerMsg, ClientMsg>;

declare global {
  interface Window {
    /** For a browser test or the console. */
    demo?: { client: DemoClient; tokens: TokenSource };
  }
}

const MAX_LINES = 200;

/** The event log lives outside React so the token source and listeners can write to it. */
const logStore = {
  entries: [] as LogEntry[],
  /** the client each entry came from, when one did */
  sources: new WeakMap<LogEntry, object>(),
  listeners: new Set<() => void>(),
  add(kind: LogKind, text: string, source?: object): void {
    const entry = logEntry(kind, text);
    if (source !== undefined) logStore.sources.set(entry, source);
    logStore.entries = [entry, ...logStore.entries].slice(0, MAX_LINES);
    for (const l of logStore.listeners) l();
  },
  /** Removes the entries that came from `source`; returns how many there were. */
  drop(source: object): number {
    const before = logStore.entries.length;
    logStore.entries = logStore.entries.filter((e) => logStore.sources.get(e) !== source);
    for (const l of logStore.listeners) l();
    return before - logStore.entries.length;
  },
  clear(): void {
    logStore.entries = [];
    for (const l of logStore.listeners) l();
  },
  subscribe(listener: () => void): () => void {
    logStore.listeners.add(listener);
    return () => logStore.listeners.delete(listener);
  },
};

function useDemoClient(): DemoClient {
  return useWebSocketClient<ServerMsg, ClientMsg>();
}

/** Re-render every `ms` (for numbers that have no event: queued, countdown). */
function useTick(ms: number): void {
  const [, set] = useState(0);
  useEffect(() => {
    const t = setInterval(() => set((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}

/**
 * "Share across tabs": like `useWebSocket`, with a client from `sharedClient`. A StrictMode
 * unmount disposes the first one (its tab leaves), so a remount makes another.
 */
function useSharedClient(options: DemoOptions): DemoClient {
  const make = () => sharedClient<ServerMsg, ClientMsg>({ ...options, name: SHARE_NAME, autoConnect: false });
  const [client, set] = useState(make);
  const disposed = useRef<DemoClient | null>(null);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the options count only when a client is made
  useEffect(() => {
    if (disposed.current === client) return set(make());
    client.connect();
    return () => {
      disposed.current = client;
      client.dispose();
    };
  }, [client]);
  return client;
}

const useClient: (options: DemoOptions) => DemoClient = SHARED ? useSharedClient : useWebSocket;

function App() {
  const [tokens] = useState(() => new TokenSource(logStore.add));
  // `url` is a function, so this is one client for the page's life (StrictMode included).
  const client = useClient(demoOptions(tokens));
  useEffect(() => {
    window.demo = { client, tokens };
  }, [client, tokens]);
  // at-least-once for this client: ids until acked, missed chat replayed after a reconnect
  const [delivered, setDelivered] = useState<Delivery>();
  useEffect(() => {
    // what was sent and not yet acknowledged survives a reload, and goes first on the next load
    const box = outbox(client, { name: 'demo-chat-react', delivery: true });
    box.restored.then((n) => n > 0 && logStore.add('info', `restored ${n} messages`));
    const d = delivery(client, { resume: true });
    setDelivered(d);
    return () => {
      d.stop();
      box.stop();
    };
  }, [client]);
  return (
    <WebSocketProvider client={client}>
      <header>
        <h1>
          resilient-ws <small>React page, StrictMode</small>
        </h1>
        <nav>
          <a href="/">← plain page</a>
        </nav>
      </header>
      <main className="grid">
        <ConnectionPanel tokens={tokens} unacked={delivered?.unacked ?? 0} />
        <ChatPanel />
        <ChannelPanel />
        <PricesPanel />
        <EventLog />
      </main>
    </WebSocketProvider>
  );
}

function ConnectionPanel({ tokens, unacked }: { tokens: TokenSource; unacked: number }) {
  const client = useDemoClient();
  const state = useConnectionState(client);
  const authOk = useLastMessage('auth_ok', client);
  const [retryAt, setRetryAt] = useState<number | undefined>();
  const [shortLived, setShortLived] = useState(tokens.shortLived);
  useTick(200);

  useEffect(() => {
    const offState = client.onStateChange((s, detail) => {
      setRetryAt(s === 'reconnecting' && detail.delay !== undefined ? Date.now() + detail.delay : undefined);
      const text = stateText(s, detail);
      logStore.add('state', text, client);
    });
    const offError = client.onError((err) => logStore.add('error', err.message, client));
    return () => {
      offState();
      offError();
      // In development StrictMode mounts twice, and useWebSocket disposes the first mount's
      // client before its socket is even created: its `connecting → closed` is not the page's.
      if (client.state === 'closed' && logStore.drop(client) > 0)
        logStore.add('info', 'StrictMode mounted twice: the first client was disposed before it opened a socket');
    };
  }, [client]);
  useMessage('error', (m) => logStore.add('error', `server: ${m.message}`), client);

  return (
    <section className="panel">
      <h2>Connection</h2>
      <p>
        <span id="state" data-testid="state" className="badge" data-state={state}>
          {state}
        </span>{' '}
        <span id="user">{authOk ? `as ${authOk.user}` : ''}</span>
      </p>
      <dl className="stats">
        <dt>Queued</dt>
        <dd id="queued" data-testid="queued">
          {client.queued}
        </dd>
        <dt>Unacked</dt>
        <dd id="unacked" data-testid="unacked">
          {unacked}
        </dd>
        <dt>Latency</dt>
        <dd id="latency" data-testid="latency">
          {fmtLatency(client.latency)}
        </dd>
        <dt>Attempt</dt>
        <dd id="attempt" data-testid="attempt">
          {state === 'reconnecting' ? client.attempt : '–'}
        </dd>
        <dt>Next try</dt>
        <dd id="countdown" data-testid="countdown">
          {state === 'reconnecting' ? fmtCountdown(retryAt) : '–'}
        </dd>
        <dt>Token</dt>
        <dd id="token-info" data-testid="token-info">
          {tokens.describe()}
        </dd>
      </dl>
      <label>
        <input
          type="checkbox"
          id="short-token"
          checked={shortLived}
          onChange={(e) => {
            tokens.shortLived = e.target.checked;
            setShortLived(e.target.checked);
            logStore.add(
              'info',
              e.target.checked ? 'short-lived tokens from the next open on' : 'fixed demo-token from the next open on',
            );
          }}
        />{' '}
        short-lived token (20 s, fetched in the auth factory)
      </label>
      <label>
        <input type="checkbox" id="share-tabs" checked={SHARED} onChange={(e) => setShared(e.target.checked)} /> share
        across tabs:{' '}
        <span id="tab-role" data-testid="tab-role">
          {tabRole(client)}
        </span>
      </label>
      <div className="buttons">
        <button type="button" id="connect" onClick={() => client.connect()}>
          Connect
        </button>
        <button type="button" id="disconnect" onClick={() => client.close()}>
          Disconnect
        </button>
        <button
          type="button"
          id="server-time"
          title="request/response: resolves with the reply carrying the same requestId"
          onClick={async () => {
            const asked = Date.now();
            try {
              const reply = await request(client, { type: 'request', op: 'time' }, { reply: 'reply', timeout: 5000 });
              logStore.add('info', `server time ${fmtTime(reply.time ?? 0)} (reply after ${Date.now() - asked} ms)`);
            } catch (err) {
              logStore.add('error', `request: ${(err as { code?: string }).code ?? String(err)}`);
            }
          }}
        >
          Ask server time
        </button>
      </div>
      <h3>Chaos</h3>
      <div className="buttons">
        {(['drop', 'stall', 'restart'] as const).map((action) => (
          <button
            key={action}
            type="button"
            id={`chaos-${action}`}
            className="danger"
            onClick={() => void chaos(action).then((line) => logStore.add('chaos', line))}
          >
            {action[0]?.toUpperCase() + action.slice(1)}
          </button>
        ))}
      </div>
    </section>
  );
}

/** A line of a channel room: what the page publishes (the channel carries it as it is). */
type RoomLine = { user: string; text: string; at: number };

/**
 * The chat rooms on channels (`resilient-ws/channels`): the room is the channel `room:<name>`,
 * recovered where it stopped after every reconnect; who is here comes from presence.
 */
function ChannelPanel() {
  const client = useDemoClient();
  const me = useLastMessage('auth_ok', client)?.user ?? 'me';
  const [room, setRoom] = useState('lobby');
  const [roomInput, setRoomInput] = useState('lobby');
  const [message, setMessage] = useState('');
  const [lines, setLines] = useState<Array<RoomLine & { key: string }>>([]);
  const { state, publish } = useChannel<RoomLine>(`room:${room}`, (line, pos) =>
    setLines((prev) => [...prev, { ...line, key: `${pos.epoch}.${pos.offset}` }].slice(-MAX_LINES)),
  );
  const members = usePresence(`room:${room}`);
  const onJoin = (e: FormEvent): void => {
    e.preventDefault();
    const r = roomInput.trim();
    if (r === '' || r === room) return;
    setLines([]);
    setRoom(r);
  };
  const onSend = (e: FormEvent): void => {
    e.preventDefault();
    if (message.trim() === '') return;
    publish({ user: me, text: message, at: Date.now() });
    setMessage('');
  };
  return (
    <section className="panel" id="channel-panel">
      <h2>
        Rooms on channels{' '}
        <small>
          <span id="ch-room">room:{room}</span> <span id="ch-state">{state}</span>
        </small>
      </h2>
      <form id="ch-room-form" onSubmit={onJoin}>
        <input
          type="text"
          id="ch-room-input"
          maxLength={32}
          autoComplete="off"
          value={roomInput}
          onChange={(e) => setRoomInput(e.target.value)}
        />
        <button type="submit" id="ch-join">
          Switch
        </button>
      </form>
      <p>
        here: <span id="ch-members">{members.map((m) => m.user).join(', ')}</span>
      </p>
      <ul id="ch-log" className="chat" aria-live="polite">
        {lines.map((l) => (
          <li key={l.key} data-testid="channel-line">
            <time>{fmtTime(l.at)}</time>
            <span className="who">{l.user}</span>
            <span className="text">{l.text}</span>
          </li>
        ))}
      </ul>
      <form id="ch-message-form" onSubmit={onSend}>
        <input
          type="text"
          id="ch-message"
          placeholder="message"
          maxLength={1000}
          autoComplete="off"
          value={message}
          onChange={(e) => setMessage(e.target.value)}
        />
        <button type="submit" id="ch-send">
          Send
        </button>
      </form>
    </section>
  );
}

interface ChatLine {
  key: string;
  className: string;
  time: number;
  who?: string;
  text: string;
}

function ChatPanel() {
  const client = useDemoClient();
  const [lines, setLines] = useState<ChatLine[]>([]);
  const [room, setRoom] = useState<string | undefined>('lobby');
  const [roomInput, setRoomInput] = useState('lobby');
  const [nameInput, setNameInput] = useState('');
  const [message, setMessage] = useState('');
  // What the page re-applies on every open; refs so the open listener sees the latest.
  const wanted = useRef<{ username?: string; room?: string }>({ room: 'lobby' });
  const seen = useRef(new Set<number>());
  const systemKey = useRef(0);

  const add = (line: ChatLine): void => setLines((prev) => [...prev, line].slice(-MAX_LINES));

  useEffect(
    () =>
      client.onStateChange((s) => {
        if (s !== 'open') return;
        // Sent from an open listener, these go out before the queue is flushed.
        const { username, room: r } = wanted.current;
        if (username !== undefined) client.send({ type: 'set_username', username }, { queue: false });
        if (r !== undefined) client.send({ type: 'join', room: r }, { queue: false });
      }),
    [client],
  );

  useMessage(
    'chat',
    (m: ChatMsg) => {
      if (seen.current.has(m.id)) return; // history replayed on re-join
      seen.current.add(m.id);
      add({ key: `c${m.id}`, className: m.replay ? 'replay' : '', time: m.timestamp, who: m.user, text: m.text });
    },
    client,
  );
  useMessage(
    'system',
    (m) => add({ key: `s${systemKey.current++}`, className: 'system', time: m.timestamp, text: m.text }),
    client,
  );

  const listRef = useRef<HTMLUListElement>(null);
  // Keep the newest line in view whenever the list grows.
  const lastKey = lines.length > 0 ? lines[lines.length - 1]?.key : undefined;
  useEffect(() => {
    const ul = listRef.current;
    if (ul !== null && lastKey !== undefined) ul.scrollTop = ul.scrollHeight;
  }, [lastKey]);

  const onName = (e: FormEvent): void => {
    e.preventDefault();
    const username = nameInput.trim();
    if (username === '') return;
    wanted.current.username = username;
    if (client.send({ type: 'set_username', username }, { queue: false }) !== 'sent') {
      logStore.add('info', `username ${username} will be sent on the next open`);
    }
  };
  const onJoin = (e: FormEvent): void => {
    e.preventDefault();
    const r = roomInput.trim();
    if (r === '') return;
    wanted.current.room = r;
    setRoom(r);
    if (client.send({ type: 'join', room: r }, { queue: false }) !== 'sent') {
      logStore.add('info', `will join ${r} on the next open`);
    }
  };
  const onLeave = (): void => {
    wanted.current.room = undefined;
    setRoom(undefined);
    client.send({ type: 'leave' }, { queue: false });
  };
  const onSend = (e: FormEvent): void => {
    e.preventDefault();
    if (message.trim() === '') return;
    const result = client.send({ type: 'message', text: message });
    setMessage('');
    if (result !== 'sent') logStore.add('info', `message ${result} (${client.queued} waiting)`);
  };

  return (
    <section className="panel">
      <h2>
        Chat{' '}
        <small>
          room: <span id="current-room">{room ?? '—'}</span>
        </small>
      </h2>
      <form id="username-form" onSubmit={onName}>
        <input
          type="text"
          id="username"
          placeholder="username"
          maxLength={32}
          autoComplete="off"
          value={nameInput}
          onChange={(e) => setNameInput(e.target.value)}
        />
        <button type="submit" id="set-username">
          Set name
        </button>
      </form>
      <form id="room-form" onSubmit={onJoin}>
        <input
          type="text"
          id="room"
          maxLength={32}
          autoComplete="off"
          value={roomInput}
          onChange={(e) => setRoomInput(e.target.value)}
        />
        <button type="submit" id="join">
          Join
        </button>
        <button type="button" id="leave" onClick={onLeave}>
          Leave
        </button>
      </form>
      <ul id="chat-log" className="chat" aria-live="polite" ref={listRef}>
        {lines.map((l) => (
          <li key={l.key} className={l.className} data-testid="chat-line">
            <time>{fmtTime(l.time)}</time>
            {l.who !== undefined && <span className="who">{l.who}</span>}
            <span className="text">{l.text}</span>
          </li>
        ))}
      </ul>
      <form id="message-form" onSubmit={onSend}>
        <input
          type="text"
          id="message"
          placeholder="message"
          maxLength={1000}
          autoComplete="off"
          value={message}
          onChange={(e) => setMessage(e.target.value)}
        />
        <button type="submit" id="send">
          Send
        </button>
      </form>
    </section>
  );
}

function PricesPanel() {
  const client = useDemoClient();
  const [prices, setPrices] = useState<ReadonlyMap<string, PriceMsg>>(new Map());
  useMessage('price', (m: PriceMsg) => setPrices((prev) => new Map(prev).set(m.symbol, m)), client);
  return (
    <section className="panel">
      <h2>Prices</h2>
      <table id="prices">
        <thead>
          <tr>
            <th>Symbol</th>
            <th>Price</th>
            <th>Change</th>
          </tr>
        </thead>
        <tbody>
          {[...prices.values()].map((p) => (
            <tr key={p.symbol} data-symbol={p.symbol}>
              <td className="symbol">{p.symbol}</td>
              <td className="price">{fmtPrice(p.price)}</td>
              <td className={`change ${p.change >= 0 ? 'up' : 'down'}`}>{fmtChange(p.change)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function EventLog() {
  const entries = useSyncExternalStore(logStore.subscribe, () => logStore.entries);
  return (
    <section className="panel wide">
      <h2>
        Event log{' '}
        <button type="button" id="clear-log" onClick={logStore.clear}>
          clear
        </button>
      </h2>
      <ol id="event-log" className="log">
        {entries.map((e) => (
          <li key={e.id} className={e.kind} data-kind={e.kind}>
            <time>{fmtTime(e.at)}</time>
            {e.text}
          </li>
        ))}
      </ol>
    </section>
  );
}

const root = document.getElementById('root');
if (root === null) throw new Error('#root missing');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
