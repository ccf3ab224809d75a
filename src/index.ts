export { type BackoffOptions, backoff } from './backoff';
export { type ClientPlugin, type MessageHandler, type MessageOf, type OfType, WebSocketClient } from './client';
export { type ErrorCode, WebSocketClientError } from './errors';
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
  WebSocketConstructor,
  WebSocketLike,
} from './types';
