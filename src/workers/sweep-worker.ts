/**
 * Piscina worker for sweeps: plays a batch of debates of an experiment (cell, replicate, seed)
 * with the pure engine, checks each one's quorum, and returns their results and events. The
 * experiment is parsed once per worker.
 */
import { createRandom } from '../core/kernel/random.ts';
import { checkQuorum, runDebate } from '../core/debate/debate.ts';
import { debateEvents, type DebateEvent } from '../core/debate/events.ts';
import { parseExperiment, type Experiment, type ReplicateResult } from '../core/debate/experiment.ts';
import type { SweepTask, SweepTaskResult } from '../node/sweep-task.ts';

let cached: { json: string; experiment: Experiment } | undefined;

export default function sweepTask(task: SweepTask): SweepTaskResult {
  if (cached?.json !== task.experimentJson) cached = { json: task.experimentJson, experiment: parseExperiment(JSON.parse(task.experimentJson)) };
  const experiment = cached.experiment;
  const results: ReplicateResult[] = [];
  const events: DebateEvent[][] = [];
  for (const item of task.items) {
    const cell = experiment.cells[item.cell];
    if (cell === undefined) throw new Error(`no cell ${item.cell}`);
    const spec = { ...cell.spec, debateId: `c${item.cell}-r${item.replicate}` };
    const outcome = runDebate(spec, createRandom(item.seed));
    const violation = checkQuorum(outcome, spec);
    if (violation !== null) throw new Error(`debate ${spec.debateId} decided without its quorum (${violation.rule}): ${violation.message}`);
    const decision = outcome.records.findLast((record) => record.type === 'decision');
    results.push({
      cell: item.cell,
      replicate: item.replicate,
      seed: item.seed,
      correct: decision?.type === 'decision' && decision.correct,
      decided: decision?.type === 'decision' && decision.answer !== null,
      consensus: outcome.records.some((record) => record.type === 'consensus-reached'),
      rounds: outcome.roundsPlayed,
      messages: outcome.messages,
    });
    events.push(debateEvents(outcome.records));
  }
  return { results, events };
}
