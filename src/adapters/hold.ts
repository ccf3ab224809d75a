import type { WebSocketClient } from 'resilient-ws';
import { type Channel, channels } from 'resilient-ws/channels';

// biome-ignore lint/suspicious/noExplicitAny: a client of any message types
type AnyClient = WebSocketClient<any, any>;

/** Per client, per channel name: the channel and how many users hold it. */
const held = new WeakMap<AnyClient, Map<string, [Channel, number]>>();

/**
 * Holds channel `name` of `client` for one user of it (a component of the React or Vue
 * adapter): the first subscribes, the last to let go unsubscribes, so two components on one
 * channel never unsubscribe each other. Returns the channel and the letting go.
 */
export const hold = (client: AnyClient, name: string): [Channel, () => void] => {
  let m = held.get(client);
  if (!m) held.set(client, (m = new Map()));
  const h = m.get(name) ?? [channels(client).subscribe(name), 0];
  h[1]++;
  m.set(name, h);
  return [
    h[0],
    () => {
      if (--h[1]) return;
      m.delete(name);
      h[0].unsubscribe();
    },
  ];
};
