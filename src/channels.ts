// Entry of `resilient-ws/channels`: named streams with per-channel recovery, presence and live token refresh.
export * from './modules/channels';
export { type RefreshOptions, tokenRefresh } from './modules/channels-refresh';
