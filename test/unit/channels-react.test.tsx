// useChannel and usePresence against a mock-socket server that speaks the channels protocol.
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { useState } from 'react';
import { renderToString } from 'react-dom/server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { useChannel, usePresence, WebSocketProvider } from '../../src/react';
import { channelsServer } from './helpers';

const URL = 'ws://react-channels.test/';
let srv: ReturnType<typeof channelsServer>;
let frames: Array<Record<string, unknown>>;
const push = (m: object) => srv.push(m);

beforeEach(() => {
  srv = channelsServer(URL);
  frames = srv.frames;
});
afterEach(() => {
  cleanup();
  srv.server.stop();
});

const client = () => srv.client();

function Room({ name }: { name: string }) {
  const [got, set] = useState<string[]>([]);
  const { state, publish } = useChannel<{ text: string }>(name, (d) => set((g) => [...g, d.text]));
  const members = usePresence(name);
  return (
    <div>
      <p data-testid="state">{state}</p>
      <p data-testid="got">{got.join(',')}</p>
      <p data-testid="members">{members.map((m) => m.user).join(',')}</p>
      <button type="button" onClick={() => publish({ text: 'hi' })}>
        say
      </button>
    </div>
  );
}

describe('useChannel and usePresence', () => {
  it('server rendering subscribes to nothing and shows subscribing, no members', async () => {
    const c = srv.client({ autoConnect: false });
    const html = renderToString(
      <WebSocketProvider client={c}>
        <Room name="lobby" />
      </WebSocketProvider>,
    );
    expect(html).toContain('subscribing');
    c.connect();
    await waitFor(() => expect(c.state).toBe('open'));
    await new Promise((r) => setTimeout(r, 50));
    expect(frames.filter((f) => f.type === 'sub')).toEqual([]);
    c.dispose();
  });

  it('subscribe on mount, deliver publications, show state and members, publish, unsubscribe on unmount', async () => {
    const c = client();
    const view = render(
      <WebSocketProvider client={c}>
        <Room name="lobby" />
      </WebSocketProvider>,
    );
    expect(screen.getByTestId('state').textContent).toBe('subscribing');
    await waitFor(() => expect(screen.getByTestId('state').textContent).toBe('subscribed'));
    expect(screen.getByTestId('members').textContent).toBe('me');
    act(() => {
      push({ type: 'pub', channel: 'lobby', epoch: 'e', offset: 1, data: { text: 'a' } });
      push({ type: 'presence_join', channel: 'lobby', member: { client: 'x', user: 'bob' } });
    });
    await waitFor(() => expect(screen.getByTestId('got').textContent).toBe('a'));
    await waitFor(() => expect(screen.getByTestId('members').textContent).toBe('me,bob'));
    act(() => screen.getByText('say').click());
    await waitFor(() => expect(frames.some((f) => f.type === 'publish')).toBe(true));
    expect(frames.find((f) => f.type === 'publish')).toMatchObject({ channel: 'lobby', data: { text: 'hi' } });
    view.unmount();
    await waitFor(() => expect(frames.at(-1)).toEqual({ type: 'unsub', channel: 'lobby' }));
    expect(frames.filter((f) => f.type === 'sub')).toHaveLength(1); // both hooks share one subscription
    c.dispose();
  });

  it('two components on one channel: the first to unmount does not unsubscribe the other', async () => {
    const c = client();
    function Two() {
      const [both, setBoth] = useState(true);
      return (
        <>
          {both && <Room name="lobby" />}
          <Room name="lobby" />
          <button type="button" onClick={() => setBoth(false)}>
            one
          </button>
        </>
      );
    }
    render(
      <WebSocketProvider client={c}>
        <Two />
      </WebSocketProvider>,
    );
    await waitFor(() =>
      expect(screen.getAllByTestId('state').map((e) => e.textContent)).toEqual(['subscribed', 'subscribed']),
    );
    act(() => screen.getByText('one').click());
    act(() => push({ type: 'pub', channel: 'lobby', epoch: 'e', offset: 1, data: { text: 'still' } }));
    await waitFor(() => expect(screen.getByTestId('got').textContent).toBe('still'));
    expect(frames.filter((f) => f.type === 'unsub')).toEqual([]);
    c.dispose();
  });
});
