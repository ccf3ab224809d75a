// Entry of `resilient-ws/delivery`: opt-in at-least-once delivery.
export * from './modules/delivery';
