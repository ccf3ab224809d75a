import { describe, expectTypeOf, it } from 'vitest';
import { type Channel, type ChannelState, channels, type Member, type Position } from '../../src/channels';
import { WebSocketClient } from '../../src/index';
import * as react from '../../src/react';
import * as vue from '../../src/vue';

type Chat = { text: string; from: string };
const client = new WebSocketClient({ url: 'ws://x', autoConnect: false });

describe('channels types', () => {
  it('subscribe<T>() types the publications, publish and the handler', () => {
    const lobby = channels(client).subscribe<Chat>('lobby');
    expectTypeOf(lobby).toEqualTypeOf<Channel<Chat>>();
    lobby.on((msg, pos) => {
      expectTypeOf(msg).toEqualTypeOf<Chat>();
      expectTypeOf(pos).toEqualTypeOf<Position>();
    });
    // @ts-expect-error a publication of another shape
    lobby.publish({ n: 1 });
    lobby.onStateChange((s, d) => {
      expectTypeOf(s).toEqualTypeOf<ChannelState>();
      expectTypeOf(d.recovered).toEqualTypeOf<boolean | undefined>();
    });
    expectTypeOf(lobby.presence.members).toEqualTypeOf<readonly Member[]>();
  });

  it('React: useChannel<T> and usePresence', () => {
    const v = react.useChannel<Chat>('lobby', (m) => expectTypeOf(m).toEqualTypeOf<Chat>());
    expectTypeOf(v.state).toEqualTypeOf<ChannelState>();
    expectTypeOf(v.publish).parameter(0).toEqualTypeOf<Chat>();
    expectTypeOf(v.channel).toEqualTypeOf<Channel<Chat> | undefined>();
    expectTypeOf(react.usePresence('lobby')).toEqualTypeOf<readonly Member[]>();
    // @ts-expect-error the name is a string
    react.useChannel(1);
  });

  it('Vue: useChannel<T> and usePresence', () => {
    const v = vue.useChannel<Chat>('lobby', (m) => expectTypeOf(m).toEqualTypeOf<Chat>());
    expectTypeOf(v.state.value).toEqualTypeOf<ChannelState>();
    expectTypeOf(v.publish).parameter(0).toEqualTypeOf<Chat>();
    expectTypeOf(vue.usePresence('lobby').value).toEqualTypeOf<readonly Member[]>();
  });
});
