// Entry of the opt-in `<script>` build: loaded after the core, it adds these to `ResilientWS`.
export { type Delivery, type DeliveryOptions, delivery } from './delivery';
export { type Outbox, type OutboxOptions, outbox } from './outbox';
export { type RequestOptions, request } from './request';
