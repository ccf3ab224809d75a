// Entry of the `<script>` build: everything on the global `ResilientWS`.
export * from './index';
