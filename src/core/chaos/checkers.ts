/**
 * Jepsen-style checkers, run after every chaos run: pure functions over what a run
 * acknowledged and what its log, projections, debates and probes show afterwards. Each finds
 * anomalies by class, with the positions or events that show each, so a report names what
 * went wrong rather than only that something did.
 */
import { canonicalJson, type JsonValue } from '../kernel/canonical.ts';

export const anomalyClasses = [
  'lost-acknowledged',
  'altered-acknowledged',
  'unnamed-loss',
  'broken-chain',
  'stream-version-gap',
  'projection-divergence',
  'minority-decided',
  'availability-breach',
  'duplicate-event',
] as const;
export type AnomalyClass = (typeof anomalyClasses)[number];

export interface Anomaly {
  readonly class: AnomalyClass;
  readonly detail: string;
  /** Log positions that show it, when it is about events. */
  readonly positions?: readonly number[];
}

export interface CheckResult {
  readonly check: string;
  readonly ok: boolean;
  /** What was checked (events, projections, debates, windows). */
  readonly checked: number;
  readonly anomalies: readonly Anomaly[];
}

export interface AnomalyCount {
  readonly count: number;
  /** Up to five examples, in order found. */
  readonly examples: readonly Anomaly[];
}

export interface CheckReport {
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
  readonly anomalies: Readonly<Partial<Record<AnomalyClass, AnomalyCount>>>;
  readonly anomalyTotal: number;
}

function result(check: string, checked: number, anomalies: Anomaly[]): CheckResult {
  return { check, ok: anomalies.length === 0, checked, anomalies };
}

export interface Acknowledged {
  readonly position: number;
  /** The hash the writer reported with the acknowledgement, when it reported one. */
  readonly hash?: string;
}

/**
 * Every acknowledged append is present after recovery, with the hash it was acknowledged with.
 * A position the repair named as lost is a reported loss (`lost-acknowledged` still: the
 * drill's target is zero), a position missing without being named is `unnamed-loss`.
 */
export function checkAcknowledged(acknowledged: Iterable<Acknowledged>, lookup: (position: number) => { hash: string; lost: boolean } | undefined, namedLost: ReadonlySet<number> = new Set()): CheckResult {
  const anomalies: Anomaly[] = [];
  let checked = 0;
  for (const ack of acknowledged) {
    checked += 1;
    const found = lookup(ack.position);
    if (found === undefined || found.lost) {
      const named = namedLost.has(ack.position) || found?.lost === true;
      anomalies.push({ class: named ? 'lost-acknowledged' : 'unnamed-loss', detail: `acknowledged position ${ack.position} is ${named ? 'lost (named by the repair)' : 'missing and nobody said so'}`, positions: [ack.position] });
    } else if (ack.hash !== undefined && found.hash !== ack.hash) {
      anomalies.push({ class: 'altered-acknowledged', detail: `position ${ack.position} holds another event than the one acknowledged`, positions: [ack.position] });
    }
  }
  return result('acknowledged appends present', checked, anomalies);
}

export interface ChainProblem {
  readonly position: number | null;
  readonly kind: string;
  readonly detail: string;
}

/** The hash chain is intact and stream versions are contiguous (from a verification report). */
export function checkChain(events: number, problems: readonly ChainProblem[]): CheckResult[] {
  const chain = problems.filter((problem) => problem.kind !== 'stream_version' && problem.kind !== 'lost');
  const versions = problems.filter((problem) => problem.kind === 'stream_version');
  const located = (problem: ChainProblem): number[] => (problem.position === null ? [] : [problem.position]);
  return [
    result('hash chain intact', events, chain.map((problem) => ({ class: 'broken-chain', detail: problem.detail, positions: located(problem) }))),
    result('stream versions contiguous', events, versions.map((problem) => ({ class: 'stream-version-gap', detail: problem.detail, positions: located(problem) }))),
  ];
}

export interface ProjectionComparison {
  readonly name: string;
  readonly shard: number;
  readonly checkpoint: number;
  readonly stored: JsonValue;
  readonly replayed: JsonValue;
}

/** Every stored projection state equals a replay of the log from scratch to its checkpoint. */
export function checkProjections(comparisons: readonly ProjectionComparison[]): CheckResult {
  const anomalies: Anomaly[] = [];
  for (const item of comparisons) {
    if (canonicalJson(item.stored) !== canonicalJson(item.replayed)) {
      anomalies.push({ class: 'projection-divergence', detail: `${item.name} shard ${item.shard} at ${item.checkpoint} differs from a replay from scratch`, positions: [item.checkpoint] });
    }
  }
  return result('projections equal a replay', comparisons.length, anomalies);
}

export interface DebateDecision {
  readonly debateId: string;
  /** Agents that could reach each other when the decision was taken (the deciding side). */
  readonly sideSize: number;
  readonly agents: number;
  readonly decided: boolean;
}

/** The debate safety invariant: a side of a partition smaller than a majority never decides. */
export function checkDebateSafety(decisions: readonly DebateDecision[]): CheckResult {
  const anomalies: Anomaly[] = [];
  for (const decision of decisions) {
    if (decision.decided && decision.sideSize * 2 <= decision.agents) {
      anomalies.push({ class: 'minority-decided', detail: `debate ${decision.debateId}: a side of ${decision.sideSize} of ${decision.agents} agents decided` });
    }
  }
  return result('a minority partition never decides', decisions.length, anomalies);
}

export interface AvailabilityWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly up: boolean;
}

/** The share of time up, and a breach when it falls under the objective. */
export function checkAvailability(windows: readonly AvailabilityWindow[], objective: number): CheckResult & { availability: number } {
  let total = 0;
  let up = 0;
  for (const window of windows) {
    const length = Math.max(0, window.endMs - window.startMs);
    total += length;
    if (window.up) up += length;
  }
  const availability = total === 0 ? 1 : up / total;
  const anomalies: Anomaly[] = availability < objective ? [{ class: 'availability-breach', detail: `available ${(availability * 100).toFixed(2)}% of the time, objective ${(objective * 100).toFixed(2)}%` }] : [];
  return { ...result('availability against the objective', windows.length, anomalies), availability };
}

/** Duplicates: the same event id at two positions. */
export function checkNoDuplicates(ids: Iterable<{ position: number; id: string }>): CheckResult {
  const seen = new Map<string, number>();
  const anomalies: Anomaly[] = [];
  let checked = 0;
  for (const { position, id } of ids) {
    checked += 1;
    const first = seen.get(id);
    if (first !== undefined) anomalies.push({ class: 'duplicate-event', detail: `event ${id} at ${first} and again at ${position}`, positions: [first, position] });
    else seen.set(id, position);
  }
  return result('no duplicate events', checked, anomalies);
}

export function combineChecks(checks: readonly CheckResult[]): CheckReport {
  const anomalies: Partial<Record<AnomalyClass, { count: number; examples: Anomaly[] }>> = {};
  let total = 0;
  for (const check of checks) {
    for (const anomaly of check.anomalies) {
      const entry = (anomalies[anomaly.class] ??= { count: 0, examples: [] });
      entry.count += 1;
      total += 1;
      if (entry.examples.length < 5) entry.examples.push(anomaly);
    }
  }
  return { ok: total === 0, checks, anomalies, anomalyTotal: total };
}
