// Entry of `resilient-ws/shared`: one connection for all tabs. The error class is re-exported
// for the documentation of the methods `SharedClient` inherits (it is the core's own class).
export * from './modules/shared';
