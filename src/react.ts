// Entry of `resilient-ws/react`: the React adapter (peer dependency `react`).
export * from './adapters/react';
