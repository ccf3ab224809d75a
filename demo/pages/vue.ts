// The Vue page: `resilient-ws/vue` composables with the same controls as the React page. Render
// functions (`h`), not templates: Vue's runtime build needs no template compiler, which the page's
// Content-Security-Policy (no eval) would refuse. All text is Vue text, never HTML.

import type { WebSocketClient } from 'resilient-ws';
import { type Delivery, delivery } from 'resilient-ws/delivery';
import { request } from 'resilient-ws/request';
import {
  provideWebSocketClient,
  useChannel,
  useConnectionState,
  useLastMessage,
  useMessage,
  usePresence,
  useWebSocket,
  useWebSocketClient,
} from 'resilient-ws/vue';
import {
  createApp,
  defineComponent,
  h,
  onUnmounted,
  type PropType,
  type Ref,
  ref,
  shallowRef,
  type VNode,
  watch,
} from 'vue';
import type { ChatMsg, ClientMsg, PriceMsg, ServerMsg } from '../protocol';
import {
  chaos,
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

/** The event log, newest first, outside any component so the token source can write to it. */
const logEntries = shallowRef<LogEntry[]>([]);
const log = (kind: LogKind, text: string): void => {
  logEntries.value = [logEntry(kind, text), ...logEntries.value].slice(0, MAX_LINES);
};

const useDemoClient = (): Readonly<Ref<DemoClient>> => useWebSocketClient<ServerMsg, ClientMsg>();

/** A counter that changes every `ms` while the component lives (for numbers that have no event: queued, countdown). */
function useTick(ms: number): Ref<number> {
  const n = ref(0);
  const t = setInterval(() => n.value++, ms);
  onUnmounted(() => clearInterval(t));
  return n;
}

const inputValue = (e: Event): string => (e.target as HTMLInputElement).value;

const ConnectionPanel = defineComponent({
  props: {
    tokens: { type: Object as PropType<TokenSource>, required: true },
    delivered: { type: Object as PropType<Delivery>, required: true },
  },
  setup(props) {
    const client = useDemoClient();
    const state = useConnectionState(client);
    const authOk = useLastMessage('auth_ok', client);
    const retryAt = ref<number>();
    const shortLived = ref(props.tokens.shortLived);
    const tick = useTick(200);

    watch(
      client,
      (c, _, onCleanup) => {
        const offState = c.onStateChange((s, detail) => {
          retryAt.value = s === 'reconnecting' && detail.delay !== undefined ? Date.now() + detail.delay : undefined;
          const text = stateText(s, detail);
          log('state', text);
        });
        const offError = c.onError((err) => log('error', err.message));
        onCleanup(() => {
          offState();
          offError();
        });
      },
      { immediate: true },
    );
    useMessage('error', (m) => log('error', `server: ${m.message}`), client);

    const askTime = async (): Promise<void> => {
      const asked = Date.now();
      try {
        const reply = await request<{ type: 'reply'; time: number }>(
          client.value,
          { type: 'request', op: 'time' },
          { timeout: 5000 },
        );
        log('info', `server time ${fmtTime(reply.time)} (reply after ${Date.now() - asked} ms)`);
      } catch (err) {
        log('error', `request: ${(err as { code?: string }).code ?? String(err)}`);
      }
    };

    const stat = (id: string, label: string, value: string | number): VNode[] => [
      h('dt', label),
      h('dd', { id, 'data-testid': id }, String(value)),
    ];

    return () => {
      void tick.value; // re-render on each tick: queued, latency, countdown and token have no event
      const c = client.value;
      return h('section', { class: 'panel' }, [
        h('h2', 'Connection'),
        h('p', [
          h('span', { id: 'state', 'data-testid': 'state', class: 'badge', 'data-state': state.value }, state.value),
          ' ',
          h('span', { id: 'user' }, authOk.value ? `as ${authOk.value.user}` : ''),
        ]),
        h('dl', { class: 'stats' }, [
          ...stat('queued', 'Queued', c.queued),
          ...stat('unacked', 'Unacked', props.delivered.unacked),
          ...stat('latency', 'Latency', fmtLatency(c.latency)),
          ...stat('attempt', 'Attempt', c.attempt),
          ...stat('countdown', 'Next try', state.value === 'reconnecting' ? fmtCountdown(retryAt.value) : '–'),
          ...stat('token-info', 'Token', props.tokens.describe()),
        ]),
        h('label', [
          h('input', {
            type: 'checkbox',
            id: 'short-token',
            checked: shortLived.value,
            onChange: (e: Event) => {
              const on = (e.target as HTMLInputElement).checked;
              props.tokens.shortLived = on;
              shortLived.value = on;
              log('info', on ? 'short-lived tokens from the next open on' : 'fixed demo-token from the next open on');
            },
          }),
          ' short-lived token (20 s, fetched in the auth factory)',
        ]),
        h('div', { class: 'buttons' }, [
          h('button', { type: 'button', id: 'connect', onClick: () => c.connect() }, 'Connect'),
          h('button', { type: 'button', id: 'disconnect', onClick: () => c.close() }, 'Disconnect'),
          h(
            'button',
            {
              type: 'button',
              id: 'server-time',
              title: 'request/response: resolves with the reply carrying the same requestId',
              onClick: askTime,
            },
            'Ask server time',
          ),
        ]),
        h('h3', 'Chaos'),
        h(
          'div',
          { class: 'buttons' },
          (['drop', 'stall', 'restart'] as const).map((action) =>
            h(
              'button',
              {
                key: action,
                type: 'button',
                id: `chaos-${action}`,
                class: 'danger',
                onClick: () => void chaos(action).then((line) => log('chaos', line)),
              },
              action[0]?.toUpperCase() + action.slice(1),
            ),
          ),
        ),
      ]);
    };
  },
});

interface ChatLine {
  key: string;
  className: string;
  time: number;
  who?: string;
  text: string;
}

const ChatPanel = defineComponent({
  setup() {
    const client = useDemoClient();
    const lines = shallowRef<ChatLine[]>([]);
    const room = ref<string | undefined>('lobby');
    const roomInput = ref('lobby');
    const nameInput = ref('');
    const message = ref('');
    // What the page re-applies on every open.
    const wanted: { username?: string; room?: string } = { room: 'lobby' };
    const seen = new Set<number>();
    let systemKey = 0;
    const list = ref<HTMLUListElement>();

    const add = (line: ChatLine): void => {
      lines.value = [...lines.value, line].slice(-MAX_LINES);
    };

    watch(
      client,
      (c, _, onCleanup) =>
        onCleanup(
          c.onStateChange((s) => {
            if (s !== 'open') return;
            // Sent from an open listener, these go out before the queue is flushed.
            if (wanted.username !== undefined)
              c.send({ type: 'set_username', username: wanted.username }, { queue: false });
            if (wanted.room !== undefined) c.send({ type: 'join', room: wanted.room }, { queue: false });
          }),
        ),
      { immediate: true },
    );

    useMessage(
      'chat',
      (m: ChatMsg) => {
        if (seen.has(m.id)) return; // history replayed on re-join
        seen.add(m.id);
        add({ key: `c${m.id}`, className: m.replay ? 'replay' : '', time: m.timestamp, who: m.user, text: m.text });
      },
      client,
    );
    useMessage(
      'system',
      (m) => add({ key: `s${systemKey++}`, className: 'system', time: m.timestamp, text: m.text }),
      client,
    );

    // Keep the newest line in view whenever the list grows.
    watch(
      lines,
      () => {
        if (list.value) list.value.scrollTop = list.value.scrollHeight;
      },
      { flush: 'post' },
    );

    const onName = (e: Event): void => {
      e.preventDefault();
      const username = nameInput.value.trim();
      if (username === '') return;
      wanted.username = username;
      if (client.value.send({ type: 'set_username', username }, { queue: false }) !== 'sent') {
        log('info', `username ${username} will be sent on the next open`);
      }
    };
    const onJoin = (e: Event): void => {
      e.preventDefault();
      const r = roomInput.value.trim();
      if (r === '') return;
      wanted.room = r;
      room.value = r;
      if (client.value.send({ type: 'join', room: r }, { queue: false }) !== 'sent') {
        log('info', `will join ${r} on the next open`);
      }
    };
    const onLeave = (): void => {
      wanted.room = undefined;
      room.value = undefined;
      client.value.send({ type: 'leave' }, { queue: false });
    };
    const onSend = (e: Event): void => {
      e.preventDefault();
      // read the field itself: a script may set it and submit without an input event
      const input = (e.target as HTMLFormElement).querySelector<HTMLInputElement>('#message');
      const text = input?.value ?? message.value;
      if (text.trim() === '') return;
      const result = client.value.send({ type: 'message', text });
      message.value = '';
      if (input) input.value = '';
      if (result !== 'sent') log('info', `message ${result} (${client.value.queued} waiting)`);
    };

    const field = (id: string, value: Ref<string>, extra: Record<string, unknown>): VNode =>
      h('input', {
        type: 'text',
        id,
        autocomplete: 'off',
        value: value.value,
        onInput: (e: Event) => {
          value.value = inputValue(e);
        },
        ...extra,
      });

    return () =>
      h('section', { class: 'panel' }, [
        h('h2', ['Chat ', h('small', ['room: ', h('span', { id: 'current-room' }, room.value ?? '—')])]),
        h('form', { id: 'username-form', onSubmit: onName }, [
          field('username', nameInput, { placeholder: 'username', maxlength: 32 }),
          h('button', { type: 'submit', id: 'set-username' }, 'Set name'),
        ]),
        h('form', { id: 'room-form', onSubmit: onJoin }, [
          field('room', roomInput, { maxlength: 32 }),
          h('button', { type: 'submit', id: 'join' }, 'Join'),
          h('button', { type: 'button', id: 'leave', onClick: onLeave }, 'Leave'),
        ]),
        h(
          'ul',
          { id: 'chat-log', class: 'chat', 'aria-live': 'polite', ref: list },
          lines.value.map((l) =>
            h('li', { key: l.key, class: l.className, 'data-testid': 'chat-line' }, [
              h('time', fmtTime(l.time)),
              l.who !== undefined ? h('span', { class: 'who' }, l.who) : null,
              h('span', { class: 'text' }, l.text),
            ]),
          ),
        ),
        h('form', { id: 'message-form', onSubmit: onSend }, [
          field('message', message, { placeholder: 'message', maxlength: 1000 }),
          h('button', { type: 'submit', id: 'send' }, 'Send'),
        ]),
      ]);
  },
});

/** A line of a channel room: what the page publishes (the channel carries it as it is). */
type RoomLine = { user: string; text: string; at: number };

/**
 * The chat rooms on channels (`resilient-ws/channels`): the room is the channel `room:<name>`,
 * recovered where it stopped after every reconnect; who is here comes from presence.
 */
const ChannelPanel = defineComponent({
  setup() {
    const client = useDemoClient();
    const me = useLastMessage('auth_ok', client);
    const room = ref('lobby');
    const roomInput = ref('lobby');
    const message = ref('');
    const lines = shallowRef<Array<RoomLine & { key: string }>>([]);
    const name = () => `room:${room.value}`;
    const { state, publish } = useChannel<RoomLine>(name, (line, pos) => {
      lines.value = [...lines.value, { ...line, key: `${pos.epoch}.${pos.offset}` }].slice(-MAX_LINES);
    });
    const members = usePresence(name);
    const onJoin = (e: Event): void => {
      e.preventDefault();
      const r = roomInput.value.trim();
      if (r === '' || r === room.value) return;
      lines.value = [];
      room.value = r;
    };
    const onSend = (e: Event): void => {
      e.preventDefault();
      if (message.value.trim() === '') return;
      publish({ user: me.value?.user ?? 'me', text: message.value, at: Date.now() });
      message.value = '';
    };
    const input = (id: string, value: Ref<string>, extra: Record<string, unknown>): VNode =>
      h('input', {
        type: 'text',
        id,
        autocomplete: 'off',
        value: value.value,
        onInput: (e: Event) => {
          value.value = inputValue(e);
        },
        ...extra,
      });
    return () =>
      h('section', { class: 'panel', id: 'channel-panel' }, [
        h('h2', [
          'Rooms on channels ',
          h('small', [h('span', { id: 'ch-room' }, name()), ' ', h('span', { id: 'ch-state' }, state.value)]),
        ]),
        h('form', { id: 'ch-room-form', onSubmit: onJoin }, [
          input('ch-room-input', roomInput, { maxlength: 32 }),
          h('button', { type: 'submit', id: 'ch-join' }, 'Switch'),
        ]),
        h('p', ['here: ', h('span', { id: 'ch-members' }, members.value.map((m) => m.user).join(', '))]),
        h(
          'ul',
          { id: 'ch-log', class: 'chat', 'aria-live': 'polite' },
          lines.value.map((l) =>
            h('li', { key: l.key, 'data-testid': 'channel-line' }, [
              h('time', fmtTime(l.at)),
              h('span', { class: 'who' }, l.user),
              h('span', { class: 'text' }, l.text),
            ]),
          ),
        ),
        h('form', { id: 'ch-message-form', onSubmit: onSend }, [
          input('ch-message', message, { placeholder: 'message', maxlength: 1000 }),
          h('button', { type: 'submit', id: 'ch-send' }, 'Send'),
        ]),
      ]);
  },
});

const PricesPanel = defineComponent({
  setup() {
    const prices = shallowRef<ReadonlyMap<string, PriceMsg>>(new Map());
    useMessage(
      'price',
      (m: PriceMsg) => {
        prices.value = new Map(prices.value).set(m.symbol, m);
      },
      useDemoClient(),
    );
    return () =>
      h('section', { class: 'panel' }, [
        h('h2', 'Prices'),
        h('table', { id: 'prices' }, [
          h('thead', h('tr', [h('th', 'Symbol'), h('th', 'Price'), h('th', 'Change')])),
          h(
            'tbody',
            [...prices.value.values()].map((p) =>
              h('tr', { key: p.symbol, 'data-symbol': p.symbol }, [
                h('td', { class: 'symbol' }, p.symbol),
                h('td', { class: 'price' }, fmtPrice(p.price)),
                h('td', { class: `change ${p.change >= 0 ? 'up' : 'down'}` }, fmtChange(p.change)),
              ]),
            ),
          ),
        ]),
      ]);
  },
});

const EventLog = defineComponent({
  setup: () => () =>
    h('section', { class: 'panel wide' }, [
      h('h2', [
        'Event log ',
        h(
          'button',
          {
            type: 'button',
            id: 'clear-log',
            onClick: () => {
              logEntries.value = [];
            },
          },
          'clear',
        ),
      ]),
      h(
        'ol',
        { id: 'event-log', class: 'log' },
        logEntries.value.map((e) =>
          h('li', { key: e.id, class: e.kind, 'data-kind': e.kind }, [h('time', fmtTime(e.at)), e.text]),
        ),
      ),
    ]),
});

const App = defineComponent({
  setup() {
    const tokens = new TokenSource(log);
    // `url` is a function, not a ref: one client for the page's life.
    const client = useWebSocket<ServerMsg, ClientMsg>(demoOptions(tokens));
    provideWebSocketClient(client);
    window.demo = { client: client.value, tokens };
    // at-least-once for this client: ids until acked, missed chat replayed after a reconnect
    const delivered = delivery(client.value, { resume: true });
    onUnmounted(() => delivered.stop());
    return () => [
      h('header', [
        h('h1', ['resilient-ws ', h('small', 'Vue page')]),
        h('nav', [h('a', { href: '/' }, '← plain page'), ' ', h('a', { href: '/react.html' }, 'React page')]),
      ]),
      h('main', { class: 'grid' }, [
        h(ConnectionPanel, { tokens, delivered }),
        h(ChatPanel),
        h(ChannelPanel),
        h(PricesPanel),
        h(EventLog),
      ]),
    ];
  },
});

createApp(App).mount('#app');
