/** Rules that keep src/core pure and deterministic; shared by eslint.config.js and its tests. */
const restrictedGlobals = [
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'queueMicrotask',
  'requestAnimationFrame',
  'performance',
  'crypto',
  'process',
  'window',
  'document',
  'fetch',
  'globalThis',
  'Buffer',
  'require',
].map((name) => ({ name, message: `the core is deterministic and pure: ${name} must come through a port` }));

export const coreRules = {
  'no-restricted-globals': ['error', ...restrictedGlobals],
  'no-restricted-properties': [
    'error',
    { object: 'Math', property: 'random', message: 'the core is deterministic: use the seeded Random port' },
    { object: 'Date', property: 'now', message: 'the core reads no clock: use the Clock port or virtual time' },
    { object: 'crypto', property: 'randomUUID', message: 'event ids come from the seeded PRNG' },
  ],
  'no-restricted-syntax': ['error', { selector: "NewExpression[callee.name='Date']", message: 'the core reads no clock: use the Clock port or virtual time' }],
};
