/**
 * `npm run bench -- debate`: sweeps on the worker pool, recorded to the sweep's event log.
 *
 * - throughput: 10,000 debates (5 simulated reasoners, 3 rounds) with 2 workers, every event
 *   recorded; baseline in the same run: the same debates played on one thread, not recorded.
 * - reference sweep: scenarios/experiments/reference-sweep.yaml (36,000 debates) end to end.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRandom } from '../../src/core/kernel/random.ts';
import { runDebate } from '../../src/core/debate/debate.ts';
import { replicateSeed } from '../../src/core/debate/experiment.ts';
import { loadExperiment, runSweep } from '../../src/node/sweep.ts';
import { benchOptions, progress, report, round, target } from './harness.ts';

benchOptions({}); // it takes none: a typo is refused, not ignored
const dir = mkdtempSync(join(tmpdir(), 'aura-bench-debate-'));
const root = join(import.meta.dirname, '..', '..');

const throughputText = `version: 1
name: throughput
seed: 1
replicates: 10000
debate:
  question: { kind: categorical, options: [right, wrong, unsure], correct: right }
  protocol: simultaneous
  rounds: 3
  agents:
    - { name: a1, model: reasoner, params: { competence: 0.6, persuasionBias: 0.3 } }
    - { name: a2, model: reasoner, params: { competence: 0.6, persuasionBias: 0.3 } }
    - { name: a3, model: reasoner, params: { competence: 0.6, persuasionBias: 0.3 } }
    - { name: a4, model: reasoner, params: { competence: 0.6, persuasionBias: 0.3 } }
    - { name: a5, model: reasoner, params: { competence: 0.6, persuasionBias: 0.3 } }
grid: []
`;

async function main(): Promise<void> {
  try {
    const experiment = loadExperiment(throughputText, 'throughput');
    const cell = experiment.cells[0];
    if (cell === undefined) throw new Error('no cell');
    const baselineStarted = performance.now();
    for (let replicate = 0; replicate < experiment.replicates; replicate++) runDebate({ ...cell.spec, debateId: `b${replicate}` }, createRandom(replicateSeed(experiment.seed, replicate)));
    const baselineSeconds = (performance.now() - baselineStarted) / 1000;

    const throughput = await runSweep(throughputText, 'throughput', { outDir: join(dir, 'throughput'), threads: 2, onProgress: progress('10,000 debates, recorded') });
    const throughputPerMinute = (throughput.debates / throughput.wallMs) * 60_000;

    const referencePath = join(root, 'scenarios', 'experiments', 'reference-sweep.yaml');
    const reference = await runSweep(readFileSync(referencePath, 'utf8'), referencePath, { outDir: join(dir, 'reference'), threads: 2, onProgress: progress('reference sweep') });

    report(
      'debate',
      {
        parameters: { throughputDebates: 10_000, agents: 5, rounds: 3, workers: 2, referenceDebates: reference.total },
        results: {
          throughput: { debates: throughput.debates, events: throughput.events, seconds: round(throughput.wallMs / 1000, 2), debatesPerMinute: round(throughputPerMinute) },
          unrecordedSingleThreadBaseline: { debates: experiment.replicates, seconds: round(baselineSeconds, 2), debatesPerMinute: round((experiment.replicates / baselineSeconds) * 60) },
          referenceSweep: { debates: reference.debates, events: reference.events, seconds: round(reference.wallMs / 1000, 1), complete: reference.complete },
        },
      },
      [
        target('simulated debates per minute (5 agents, 3 rounds, recorded, 2 workers)', round(throughputPerMinute), '>=', 10_000, 'debates/min'),
        target('reference sweep of 36,000 debates', round(reference.wallMs / 1000, 1), '<=', 300, 's'),
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
