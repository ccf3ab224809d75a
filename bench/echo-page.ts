// The browser side of the echo benchmark, bundled by esbuild into the page together with
// reconnecting-websocket and partysocket. The SDK comes from the `<script>` build
// (`dist/resilient-ws.min.js`, global `ResilientWS`). Every client uses the browser's own
// WebSocket. Node drives it through `window.echoBench`.

import PartySocket from 'partysocket/ws';
import ReconnectingWebSocket from 'reconnecting-websocket';
import type { WebSocketClient, WebSocketConstructor } from 'resilient-ws';
import { burst, type ClientName, clients, type Outcome, openForReceive, type RwsClass, windowed } from './echo-rounds';

export interface EchoBench {
  windowed(c: ClientName, url: string, total: number, inflight: number, idleMs: number): Promise<Outcome>;
  burst(c: ClientName, url: string, total: number, idleMs: number): Promise<Outcome>;
  /** Opens a receive-only connection; `receive` then runs it (the measured part), `closeReceive` closes it. */
  openReceive(c: ClientName, url: string, n: number, idleMs: number): Promise<void>;
  receive(): Promise<Outcome>;
  closeReceive(): void;
}

declare global {
  interface Window {
    ResilientWS: { WebSocketClient: typeof WebSocketClient };
    echoBench: EchoBench;
  }
}

const open = clients(
  {
    WebSocketClient: window.ResilientWS.WebSocketClient,
    ReconnectingWebSocket: ReconnectingWebSocket as unknown as RwsClass,
    PartySocket: PartySocket as unknown as RwsClass,
  },
  WebSocket as unknown as WebSocketConstructor,
);

let pending: Awaited<ReturnType<typeof openForReceive>> | undefined;

window.echoBench = {
  windowed: (c, url, total, inflight, idleMs) => windowed(open[c], url, total, inflight, idleMs),
  burst: (c, url, total, idleMs) => burst(open[c], url, total, idleMs),
  openReceive: async (c, url, n, idleMs) => {
    pending = await openForReceive(open[c], url, n, idleMs);
  },
  receive: () => {
    if (!pending) throw new Error('openReceive first');
    return pending.run();
  },
  closeReceive: () => {
    pending?.close();
    pending = undefined;
  },
};
