// Size budgets, enforced by `npm run size` (size-limit; min + gzip). docs/performance.md's size
// table quotes them (test/package/readme-sizes.test.ts keeps the two in sync).
//
// An app's production bundle takes each entry's production file (`x.production.mjs`, through
// the `production` export condition), where the development-only checks and texts are gone:
// the npm entries are measured that way. The development file of the core (`development`
// condition) is budgeted too. The default files, for a bundler without export conditions,
// drop the same code when it replaces `process.env.NODE_ENV` with "production".
export default [
  {
    name: "import { WebSocketClient } from 'resilient-ws'",
    path: 'dist/index.production.mjs',
    import: '{ WebSocketClient }',
    gzip: true,
    limit: '4.3 KB',
  },
  {
    name: "import { WebSocketClient } from 'resilient-ws' (development)",
    path: 'dist/index.development.mjs',
    import: '{ WebSocketClient }',
    gzip: true,
    limit: '5.65 KB',
  },
  {
    name: 'resilient-ws/react',
    path: 'dist/react.production.mjs',
    import: '*',
    ignore: ['react', 'react/jsx-runtime', 'resilient-ws'],
    gzip: true,
    limit: '1.1 KB',
  },
  {
    name: 'resilient-ws/vue',
    path: 'dist/vue.production.mjs',
    import: '*',
    ignore: ['vue', 'resilient-ws'],
    gzip: true,
    limit: '1.1 KB',
  },
  {
    name: 'resilient-ws/delivery',
    path: 'dist/delivery.production.mjs',
    import: '{ delivery }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '0.8 KB',
  },
  {
    name: 'resilient-ws/request',
    path: 'dist/request.production.mjs',
    import: '{ request }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '0.7 KB',
  },
  {
    name: 'resilient-ws/shared',
    path: 'dist/shared.production.mjs',
    import: '{ sharedClient }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.5 KB',
  },
  {
    name: 'resilient-ws/outbox',
    path: 'dist/outbox.production.mjs',
    import: '{ outbox }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.3 KB',
  },
  {
    name: 'resilient-ws/channels',
    path: 'dist/channels.production.mjs',
    import: '{ channels }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '1.5 KB',
  },
  {
    name: 'resilient-ws/fallback',
    path: 'dist/fallback.production.mjs',
    import: '{ fallback }',
    ignore: ['resilient-ws'],
    gzip: true,
    limit: '2.4 KB',
  },
  {
    name: 'dist/resilient-ws.min.js (<script> tag, production)',
    path: 'dist/resilient-ws.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '4.33 KB',
  },
  {
    name: 'dist/resilient-ws.extras.min.js (<script> tag, delivery, request and outbox)',
    path: 'dist/resilient-ws.extras.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '2.42 KB',
  },
  {
    name: 'dist/resilient-ws.shared.min.js (<script> tag, sharedClient)',
    path: 'dist/resilient-ws.shared.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '1.56 KB',
  },
  {
    name: 'dist/resilient-ws.fallback.min.js (<script> tag, fallback)',
    path: 'dist/resilient-ws.fallback.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '2.4 KB',
  },
  {
    name: 'dist/resilient-ws.channels.min.js (<script> tag, channels)',
    path: 'dist/resilient-ws.channels.min.js',
    disablePlugins: ['@size-limit/esbuild'],
    gzip: true,
    limit: '1.6 KB',
  },
];
