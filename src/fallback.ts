// Entry of `resilient-ws/fallback`: an HTTP transport with the WebSocket shape, for where WebSockets are blocked.
export * from './modules/fallback';
