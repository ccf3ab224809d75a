// Entry of `resilient-ws/vue`: the Vue adapter (peer dependency `vue`).
export * from './adapters/vue';
