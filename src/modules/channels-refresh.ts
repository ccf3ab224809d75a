import { type ClientPlugin, type Message, type WebSocketClient, WebSocketClientError } from 'resilient-ws';
import { checkOptions } from './check';

/** Options of {@link tokenRefresh}. */
export interface RefreshOptions {
  /**
   * When the credentials expire, epoch ms, read from the auth ack and from each `reauthed`.
   * @default msg => msg.expiresAt
   */
  expiresAt?: (msg: Message) => number | undefined;
  /** How long the server has to answer a `reauth`, ms. @default the auth timeout (10000) */
  timeout?: number;
}

/**
 * Live token refresh: when the auth ack says when the credentials expire, fresh ones come from
 * the client's auth factory (`auth.message`, a function) at 80% of the time left (at least 1 s
 * apart) and go out on the live connection as the auth message with the type `reauth`; the
 * server confirms with `reauthed` (its `expiresAt` schedules the next), or refuses by closing
 * with an auth-failure code, which is the client's refusal path. A server that does not answer
 * within `timeout` does not re-authenticate: that is reported once (`AUTH_TIMEOUT`) and the
 * client never asks it again; its next connection authenticates afresh anyway.
 *
 * `channels()` turns it on; call it alone for a client without channels. Returns the function
 * that turns it off.
 */
export const tokenRefresh = <In extends Message, Out>(
  client: WebSocketClient<In, Out>,
  options: RefreshOptions = {},
): (() => void) => {
  if (__DEV__) checkOptions('tokenRefresh', options, ['expiresAt', 'timeout']);
  const { auth: a, typeKey: t } = client.options;
  const m = a?.message;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** the server did not answer a `reauth`: never asked again */
  let deaf = false;
  const { expiresAt = (x: Message) => (x as { expiresAt?: number }).expiresAt, timeout = a?.timeout } = options;
  const stop = () => clearTimeout(timer);
  const schedule = (msg: Message) => {
    const at = expiresAt(msg);
    stop();
    if (typeof at === 'number' && !deaf)
      timer = setTimeout(
        async () => {
          let next: Out;
          try {
            next = await (m as () => Out | Promise<Out>)();
          } catch (e) {
            return client.report(new WebSocketClientError('AUTH_ERROR', undefined, undefined, e));
          }
          if (client.state !== 'open') return;
          client.send({ ...next, [t]: 'reauth' }, { queue: false });
          timer = setTimeout(() => {
            deaf = true;
            client.report(
              new WebSocketClientError(
                'AUTH_TIMEOUT',
                __DEV__ ? `no answer to reauth within ${timeout} ms: this server is not asked again` : undefined,
              ),
            );
          }, timeout);
        },
        Math.max(1000, (at - Date.now()) * 0.8),
      );
  };
  // a fixed auth message cannot be refreshed
  if (typeof m !== 'function') return stop;
  const plugin: ClientPlugin<In, Out> = {
    message(msg) {
      const type = (msg as Record<string, unknown>)[t];
      if (type === 'reauthed') {
        schedule(msg);
        return false;
      }
      if (client.state === 'authenticating' && a!.isAck?.(msg)) schedule(msg);
    },
  };
  const removePlugin = client.use(plugin);
  // a timer belongs to the connection it was set on
  const unlisten = client.onStateChange((s) => s !== 'open' && stop());
  return () => {
    stop();
    removePlugin();
    unlisten();
  };
};
