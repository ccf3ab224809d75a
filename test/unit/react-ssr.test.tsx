// @vitest-environment node
// Server rendering: every hook renders under Node with no DOM, and no socket is ever created.
import { renderToString } from 'react-dom/server';
import { WebSocketClient, type WebSocketConstructor } from 'resilient-ws';
import { expect, it, vi } from 'vitest';
import {
  useConnectionState,
  useLastMessage,
  useMessage,
  useWebSocket,
  useWebSocketClient,
  WebSocketProvider,
} from '../../src/react';

it('renders a tree using every hook to HTML without opening a socket', async () => {
  expect(typeof window).toBe('undefined');
  const constructed = vi.fn();
  const Spy = vi.fn(function (this: unknown, url: string) {
    constructed(url);
  }) as unknown as WebSocketConstructor;
  const handler = vi.fn();

  function Feed() {
    const client = useWebSocketClient();
    useMessage('chat', handler, client);
    const last = useLastMessage('chat');
    return `${useConnectionState()}|${last ? 'msg' : 'none'}`;
  }
  function Own() {
    const client = useWebSocket({ url: 'wss://example.test/own', WebSocket: Spy });
    return `${useConnectionState(client)}|${client.state}`;
  }
  const shared = new WebSocketClient({ url: 'wss://example.test/shared', WebSocket: Spy, autoConnect: false });
  const html = renderToString(
    <WebSocketProvider client={shared}>
      <p>
        <Feed />
      </p>
      <p>
        <Own />
      </p>
    </WebSocketProvider>,
  );

  expect(html).toBe('<p>idle|none</p><p>idle|idle</p>');
  await new Promise((r) => setTimeout(r, 20)); // a connect would construct the socket a tick later
  expect(constructed).not.toHaveBeenCalled();
  expect(handler).not.toHaveBeenCalled();
  expect(shared.state).toBe('idle');
});
