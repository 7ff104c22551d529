/**
 * `npm run bench -- threads [--rounds R]`: what a second thread buys on this machine, for the
 * kinds of work the lab's worker pools do. The same total work runs on one worker thread, then
 * split over two started together; the speed-up is the ratio of the wall times (loops only:
 * threads are started, and have run their code once, before the clock starts; ~1.5 s of work
 * on one thread per measurement). No targets: this is the machine's
 * ceiling for the projection rebuild and verification speed-ups (README, Benchmarks).
 *
 * - arithmetic: one dependent chain of integer multiply-adds (registers only);
 * - arithmetic, 8 chains: eight independent chains (the cores' execution units);
 * - sha256: Node's crypto.hash over 420 bytes (what the JavaScript chain check does per event);
 * - JSON.parse: a ~300-byte event payload parsed and dropped (what a fold does per event:
 *   allocation, young-generation collection).
 */
import { Worker } from 'node:worker_threads';
import { benchOptions, median, progress, report, round } from './harness.ts';

const rounds = benchOptions({ rounds: 5 }).rounds;

/** Plain JavaScript (no tsx in the threads): waits for `go`, runs its share, answers with its loop time. */
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const { hash } = require('node:crypto');
const kinds = {
  arithmetic: (n) => { let x = 1; for (let i = 0; i < n * 1300; i++) x = (x * 1103515245 + 12345) | 0; return x; },
  arithmetic8: (n) => {
    let a = 1, b = 2, c = 3, d = 4, e = 5, f = 6, g = 7, h = 8;
    for (let i = 0; i < n * 1000; i++) {
      a = (a * 1103515245 + 12345) | 0; b = (b * 1103515245 + 12345) | 0; c = (c * 1103515245 + 12345) | 0; d = (d * 1103515245 + 12345) | 0;
      e = (e * 1103515245 + 12345) | 0; f = (f * 1103515245 + 12345) | 0; g = (g * 1103515245 + 12345) | 0; h = (h * 1103515245 + 12345) | 0;
    }
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h;
  },
  sha256: (n) => { const bytes = Buffer.alloc(420, 7); let s = 0; for (let i = 0; i < n * 7; i++) s += hash('sha256', bytes, 'buffer')[0]; return s; },
  json: (n) => {
    const text = JSON.stringify({ orderId: 'order-123', amount: 1234, currency: 'EUR', note: 'x'.repeat(200), lines: [1, 2, 3] });
    let s = 0;
    for (let i = 0; i < n * 14; i++) s += JSON.parse(text).amount;
    return s;
  },
};
kinds[workerData.kind](2000);
parentPort.postMessage('ready');
parentPort.once('message', () => {
  const started = performance.now();
  const result = kinds[workerData.kind](workerData.units);
  parentPort.postMessage({ ms: performance.now() - started, result });
});
`;

const units = 200_000;
const kinds: Record<string, string> = { arithmetic: 'arithmetic, 1 chain', arithmetic8: 'arithmetic, 8 chains', sha256: 'sha256 of 420 bytes (node:crypto)', json: 'JSON.parse of a ~300-byte payload' };

/** Wall time in ms for `units` of `kind` split evenly over `threads`, from `go` to the last answer. */
async function run(kind: string, threads: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(workerSource, { eval: true, workerData: { kind, units: units / threads } }));
  try {
    await Promise.all(workers.map((worker) => new Promise((resolve) => worker.once('message', resolve))));
    const started = performance.now();
    await Promise.all(
      workers.map((worker) => {
        const done = new Promise((resolve) => worker.once('message', resolve));
        worker.postMessage('go');
        return done;
      }),
    );
    return performance.now() - started;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

const tick = progress('threads benchmark');
const results: Record<string, { speedUp: number; rounds: number[]; oneThreadMs: number; twoThreadsMs: number; oneThreadRoundsMs: number[]; twoThreadsRoundsMs: number[] }> = {};
let done = 0;
for (const kind of Object.keys(kinds)) {
  const ratios: number[] = [];
  const ones: number[] = [];
  const twos: number[] = [];
  for (let round_ = 0; round_ < rounds; round_++) {
    // Alternate which goes first, so that neither always runs on a warmer machine.
    let oneMs: number;
    let twoMs: number;
    if (round_ % 2 === 0) {
      oneMs = await run(kind, 1);
      twoMs = await run(kind, 2);
    } else {
      twoMs = await run(kind, 2);
      oneMs = await run(kind, 1);
    }
    ones.push(oneMs);
    twos.push(twoMs);
    ratios.push(oneMs / twoMs);
    tick(++done, rounds * Object.keys(kinds).length);
  }
  results[kinds[kind] as string] = { speedUp: round(median(ratios), 2), rounds: ratios.map((ratio) => round(ratio, 2)), oneThreadMs: round(median(ones)), twoThreadsMs: round(median(twos)), oneThreadRoundsMs: ones.map((ms) => round(ms)), twoThreadsRoundsMs: twos.map((ms) => round(ms)) };
}
report('threads', { parameters: { rounds, units }, results }, []);
