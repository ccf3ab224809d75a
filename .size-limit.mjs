// Size budgets, enforced by `npm run size` (size-limit; min + gzip). The README's size table
// quotes them (test/package/readme-sizes.test.ts keeps the two in sync).
//
// An app's production bundle replaces `process.env.NODE_ENV` with "production", and the
// development-only diagnostics of the core (option hints, long messages) drop out: the bundler
// entries are measured that way, as esbuild builds them with that `define`. The development
// size of the core is budgeted too.
const production = (config) => ({ ...config, define: { ...config.define, 'process.env.NODE_ENV': '"production"' } });
const development = (config) => ({ ...config, define: { ...config.define, 'process.env.NODE_ENV': '"development"' } });

export default [
  {
    name: "import { WebSocketClient } from 'resilient-ws'",
    path: 'dist/index.mjs',
    import: '{ WebSocketClient }',
    gzip: true,
    limit: '4.24 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: "import { WebSocketClient } from 'resilient-ws' (development)",
    path: 'dist/index.mjs',
    import: '{ WebSocketClient }',
    gzip: true,
    limit: '4.75 KB',
    modifyEsbuildConfig: development,
  },
  {
    name: 'resilient-ws/react',
    path: 'dist/react.mjs',
    import: '*',
    ignore: ['react', 'react/jsx-runtime', 'resilient-ws'],
    gzip: true,
    limit: '1 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/vue',
    path: 'dist/vue.mjs',
    import: '*',
    ignore: ['vue', 'resilient-ws'],
    gzip: true,
    limit: '0.8 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/delivery',
    path: 'dist/delivery.mjs',
    import: '{ delivery }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '0.8 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/request',
    path: 'dist/request.mjs',
    import: '{ request }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '0.7 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/shared',
    path: 'dist/shared.mjs',
    import: '{ sharedClient }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.5 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/outbox',
    path: 'dist/outbox.mjs',
    import: '{ outbox }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.2 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'resilient-ws/channels',
    path: 'dist/channels.mjs',
    import: '{ channels }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.6 KB',
    modifyEsbuildConfig: production,
  },
  {
    name: 'dist/resilient-ws.min.js (<script> tag, production)',
    path: 'dist/resilient-ws.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '4.22 KB',
  },
  {
    name: 'dist/resilient-ws.extras.min.js (<script> tag, delivery, request and outbox)',
    path: 'dist/resilient-ws.extras.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '2.3 KB',
  },
  {
    name: 'dist/resilient-ws.shared.min.js (<script> tag, sharedClient)',
    path: 'dist/resilient-ws.shared.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '1.56 KB',
  },
];
