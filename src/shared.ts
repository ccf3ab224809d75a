// Entry of `resilient-ws/shared`: one connection for all tabs.
export * from './modules/shared';
