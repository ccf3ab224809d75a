// Entry of `resilient-ws/outbox`: what the client holds survives a reload.
export * from './modules/outbox';
