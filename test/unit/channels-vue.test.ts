// useChannel and usePresence (Vue) against a mock-socket server that speaks the channels protocol.
import { flushPromises, mount } from '@vue/test-utils';
import type { WebSocketClient } from 'resilient-ws';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSSRApp, defineComponent, h, ref } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { provideWebSocketClient, useChannel, usePresence } from '../../src/vue';
import { channelsServer } from './helpers';

const URL = 'ws://vue-channels.test/';
let srv: ReturnType<typeof channelsServer>;
let frames: Array<Record<string, unknown>>;
const push = (m: object) => srv.push(m);

beforeEach(() => {
  srv = channelsServer(URL);
  frames = srv.frames;
});
afterEach(() => srv.server.stop());

const client = () => srv.client();

/** The room's setup, as a component's `setup` runs it. */
function useRoom(props: { name: string }) {
  const got = ref<string[]>([]);
  const name = () => props.name;
  const { state, publish } = useChannel<{ text: string }>(name, (d) => got.value.push(d.text));
  const members = usePresence(name);
  return () =>
    h('div', [
      h('p', { id: 'state' }, state.value),
      h('p', { id: 'got' }, got.value.join(',')),
      h('p', { id: 'members' }, members.value.map((m) => m.user).join(',')),
      h('button', { onClick: () => publish({ text: 'hi' }) }, 'say'),
    ]);
}

const Room = defineComponent({ props: { name: { type: String, required: true } }, setup: useRoom });

const host = (c: WebSocketClient, name = ref('lobby')) =>
  defineComponent({
    setup() {
      provideWebSocketClient(c);
      return () => h(Room, { name: name.value });
    },
  });

describe('useChannel and usePresence (Vue)', () => {
  it('subscribe, deliver, state and members, publish; follows a ref name; unsubscribes when unmounted', async () => {
    const c = client();
    const name = ref('lobby');
    const w = mount(host(c, name));
    expect(w.find('#state').text()).toBe('subscribing');
    await vi.waitFor(() => expect(w.find('#state').text()).toBe('subscribed'));
    expect(w.find('#members').text()).toBe('me');
    push({ type: 'pub', channel: 'lobby', epoch: 'e', offset: 1, data: { text: 'a' } });
    push({ type: 'presence_join', channel: 'lobby', member: { client: 'x', user: 'bob' } });
    await vi.waitFor(() => expect(w.find('#got').text()).toBe('a'));
    await vi.waitFor(() => expect(w.find('#members').text()).toBe('me,bob'));
    await w.find('button').trigger('click');
    await vi.waitFor(() => expect(frames.some((f) => f.type === 'publish')).toBe(true));
    expect(frames.filter((f) => f.type === 'sub')).toHaveLength(1); // both composables share one subscription
    name.value = 'other';
    await flushPromises();
    await vi.waitFor(() => expect(frames.some((f) => f.type === 'sub' && f.channel === 'other')).toBe(true));
    expect(frames).toContainEqual({ type: 'unsub', channel: 'lobby' });
    w.unmount();
    await vi.waitFor(() => expect(frames.at(-1)).toEqual({ type: 'unsub', channel: 'other' }));
    c.dispose();
  });

  it('server rendering subscribes to nothing', async () => {
    const c = srv.client({ autoConnect: false });
    const html = await renderToString(createSSRApp(host(c)));
    expect(html).toContain('subscribing');
    c.connect();
    await vi.waitFor(() => expect(c.state).toBe('open'));
    await new Promise((r) => setTimeout(r, 50));
    expect(frames.filter((f) => f.type === 'sub')).toEqual([]);
    c.dispose();
  });
});
