// The browser side of the echo benchmark, bundled by esbuild into the page. The SDK comes from
// the `<script>` build (`dist/resilient-ws.min.js`, global `ResilientWS`); both sides use the
// browser's native WebSocket (through the same thin timing subclass, see `timed`).
import type { WebSocketConstructor } from 'resilient-ws';
import { type Round, type RoundResult, rawRound, type Sdk, sdkRound } from './echo-rounds';

declare global {
  interface Window {
    ResilientWS: Sdk;
    echoBench: Record<'raw' | 'sdk', (url: string, r: Round) => Promise<RoundResult>>;
  }
}

const Native = WebSocket as unknown as WebSocketConstructor;

window.echoBench = {
  raw: (url, r) => rawRound(Native, url, r),
  sdk: (url, r) => sdkRound(window.ResilientWS, Native, url, r),
};
