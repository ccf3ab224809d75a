/**
 * Whether the development checks and texts are compiled in. The build replaces it per output
 * (rollup.config.mjs): `true` in the development files, `false` in the production files, and
 * `typeof process < 'u' && process.env.NODE_ENV !== 'production'` in the default files, where
 * the app's bundler or Node decides; vitest defines it as `true`.
 */
declare const __DEV__: boolean;
