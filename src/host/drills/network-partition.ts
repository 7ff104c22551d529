/**
 * Drill: network partition. Three real peers replicate their logs over TCP through the lab's
 * fault-injecting proxies; the minority peer is cut off while everyone keeps writing, then the
 * partition heals (by itself, or at the trainee's action) and the drill times convergence: every
 * peer holding every origin at the same head and hash. Debating agents are partitioned the same
 * way (a minority and a majority side); the checker verifies that the minority side never
 * decided, and every acknowledged append reached every peer.
 */
import { checkDebateSafety, combineChecks, type Anomaly, type CheckResult } from '../../core/chaos/checkers.ts';
import { selectTargets } from '../../core/chaos/catalogue.ts';
import { debateUnderPartition } from '../../core/chaos/split-brain.ts';
import { parseDebateSpec } from '../../core/debate/spec.ts';
import { createRandom } from '../../core/kernel/random.ts';
import { runPartitionTrial } from '../../node/partition-trial.ts';
import { awaitTrainee, numberParam, type DrillContext, type DrillOutcome } from './context.ts';

const defaultDebate = {
  debateId: 'partition-drill',
  question: { kind: 'categorical', text: 'Fail over to the standby region?', options: ['fail-over', 'hold'], correct: 'hold' },
  protocol: 'simultaneous',
  rounds: 3,
  aggregation: { kind: 'plurality' },
  agents: ['ada', 'bob', 'cyd', 'dee', 'eve'].map((name, index) => ({ name, model: 'reasoner', params: { competence: 0.6 + index * 0.05, persuasionBias: 0.4 } })),
};

export async function networkPartition(context: DrillContext): Promise<DrillOutcome> {
  const partitionMs = numberParam(context, 'partitionMs', 1_500, 100, 600_000);
  const appendsPerSecond = numberParam(context, 'appendsPerSecond', 200, 1, 10_000);
  const peers = numberParam(context, 'peers', 3, 2, 9);
  const trainer = context.mode === 'trainer';
  const random = createRandom(context.seed).split('network-partition');

  // Agents: a seeded minority is cut off from the rest.
  const spec = parseDebateSpec(context.params.debate ?? defaultDebate);
  const names = spec.agents.map((agent) => agent.name);
  const minorityAgents = selectTargets({ select: 'minority' }, names, random.split('agents'));
  const split = debateUnderPartition(spec, [names.filter((name) => !minorityAgents.includes(name)), minorityAgents], random.split('debate'));
  context.record('fault', `agents partitioned: {${minorityAgents.join(', ')}} cut off from {${names.filter((name) => !minorityAgents.includes(name)).join(', ')}}`, trainer);
  for (const side of split.sides) context.record('note', `agent side {${side.agents.join(', ')}} proposed ${side.proposed ?? 'nothing'} with ${side.votes} votes: ${side.decided ? 'decided' : 'no quorum of the membership'}`);

  let partitionedAt = 0;
  let healedAt = 0;
  let detectedAt: number | undefined;
  context.progress('starting peers', 0.05);
  const trial = await runPartitionTrial({
    dir: context.dir,
    seed: context.seed,
    peers,
    appendsPerSecond,
    partitionMs,
    onProgress: (stage) => context.progress(stage, stage.startsWith('healed') ? 0.8 : stage.startsWith('partitioning') ? 0.4 : 0.2),
    onFault: (event, minority) => {
      if (event === 'partitioned') {
        partitionedAt = context.now();
        context.record('fault', `network partition: ${minority} cut off from the other peers`, trainer);
        if (trainer) context.record('symptom', `replication lag grows: ${minority} stops receiving the other peers' events`);
      } else {
        healedAt = context.now();
        context.record('action', 'partition healed');
      }
    },
    ...(trainer
      ? {
          healWhen: async () => {
            const { atMs } = await awaitTrainee(context, ['heal-partition']);
            detectedAt = atMs;
          },
        }
      : {}),
  });
  const convergedAt = healedAt + trial.convergedMsAfterHeal;
  context.record('recovered', trial.converged ? `peers converged ${trial.convergedMsAfterHeal} ms after the heal` : `peers did not converge within ${trial.convergedMsAfterHeal} ms`);

  const replication: Anomaly[] = [];
  for (let index = 0; index < trial.lostAcknowledged; index++) replication.push({ class: 'lost-acknowledged', detail: 'an acknowledged append is missing at a peer' });
  for (let index = 0; index < trial.chainProblems; index++) replication.push({ class: 'broken-chain', detail: 'a replica does not verify' });
  for (let index = 0; index < trial.duplicates; index++) replication.push({ class: 'duplicate-event', detail: 'an event was imported twice' });
  const replicated: CheckResult = { check: 'every acknowledged append at every peer', ok: replication.length === 0, checked: trial.acknowledged, anomalies: replication };
  const checks = combineChecks([replicated, checkDebateSafety(split.decisions)]);
  context.record('check', checks.ok ? 'checkers: no anomaly' : `checkers: ${checks.anomalyTotal} anomalies`);
  return {
    measurements: {
      convergeMs: trial.converged ? trial.convergedMsAfterHeal : Number.POSITIVE_INFINITY,
      recoveryMs: convergedAt - partitionedAt,
      ...(detectedAt === undefined ? {} : { timeToDetectMs: detectedAt - partitionedAt, timeToRecoverMs: convergedAt - detectedAt }),
      lostAcknowledged: trial.lostAcknowledged,
      anomalies: checks.anomalyTotal,
      throughputPerSecond: Math.round(trial.acknowledged / Math.max(0.001, (healedAt - partitionedAt + 300) / 1_000)),
    },
    checks,
    details: { minorityPeer: trial.minority, convergedMsAfterHeal: trial.convergedMsAfterHeal, acknowledged: trial.acknowledged, reconnects: trial.reconnects, agents: split },
  };
}
