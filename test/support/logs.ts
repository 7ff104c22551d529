export { appendSeeded, seededBatch } from '../../src/node/seeded-load.ts';
