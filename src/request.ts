// Entry of `resilient-ws/request`: opt-in request/response.
export * from './modules/request';
