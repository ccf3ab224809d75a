// Entry of `resilient-ws`: the core. Import rules: `core/` imports only itself;
// `modules/` and `adapters/` import the core only as `'resilient-ws'` (its public API), never
// `core/` files; entries at this level only re-export.
export { type BackoffOptions, backoff } from './core/backoff';
export { type ClientPlugin, type MessageHandler, type MessageOf, type OfType, WebSocketClient } from './core/client';
export { type ErrorCode, WebSocketClientError } from './core/errors';
export type { Resolved as ResolvedOptions } from './core/options';
export type {
  AuthOptions,
  ClientOptions,
  CloseInfo,
  Factory,
  HeartbeatOptions,
  Logger,
  Message,
  QueueOptions,
  ReconnectOptions,
  SendResult,
  State,
  StateDetail,
  UrlSource,
  WebSocketConstructor,
  WebSocketLike,
} from './core/types';
