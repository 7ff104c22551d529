/**
 * The fault catalogue: every fault the lab can inject, where it strikes, and how the lab makes
 * it real. Blast radius selectors choose targets deterministically from the seeded PRNG, so a
 * drill or an experiment with the same seed strikes the same targets.
 */
import { AuraError } from '../kernel/errors.ts';
import type { Random } from '../kernel/random.ts';

export type FaultLayer = 'engine' | 'storage' | 'network' | 'agents' | 'load' | 'time';

export interface FaultKindInfo {
  readonly kind: string;
  readonly layer: FaultLayer;
  readonly title: string;
  /** How the lab makes the fault real (shown in the chaos panel). */
  readonly mechanism: string;
  /** The runbook action that recovers from it, when a person has to act. */
  readonly recovery: string;
  /**
   * Where the lab injects it today: a drill (`drill:<name>`), chaos experiments, the kill -9
   * and byte-flip trials (`bench`), or the node library only (`library`: tests and scripts).
   */
  readonly usedBy: readonly string[];
}

export const faultCatalogue: readonly FaultKindInfo[] = [
  { kind: 'engine-kill', layer: 'engine', title: 'Kill the engine host (kill -9)', mechanism: 'SIGKILL to the engine host process', recovery: 'restart-engine', usedBy: ['drill:complete-failure', 'bench'] },
  { kind: 'engine-pause', layer: 'engine', title: 'Pause the engine host', mechanism: 'SIGSTOP, then SIGCONT when the fault ends', recovery: 'restart-engine', usedBy: ['library'] },
  { kind: 'worker-kill', layer: 'engine', title: 'Kill a projection worker', mechanism: 'terminate the worker thread mid-task', recovery: 'rebuild-projection', usedBy: ['library'] },
  { kind: 'byte-flip', layer: 'storage', title: 'Flip bytes in database pages', mechanism: 'XOR single bits at seeded offsets of the log file', recovery: 'repair-log', usedBy: ['drill:database-corruption', 'bench'] },
  { kind: 'truncate-db', layer: 'storage', title: 'Truncate the database', mechanism: 'cut the log file to a fraction of its size', recovery: 'repair-log', usedBy: ['library'] },
  { kind: 'wal-delete', layer: 'storage', title: 'Delete the WAL', mechanism: 'remove the -wal file under a live writer', recovery: 'repair-log', usedBy: ['library'] },
  { kind: 'wal-truncate', layer: 'storage', title: 'Lose writes not yet synced', mechanism: 'cut the WAL back to a frame boundary, as a power loss would', recovery: 'repair-log', usedBy: ['library'] },
  { kind: 'disk-full', layer: 'storage', title: 'Full disk', mechanism: 'cap the database size (SQLITE_FULL on the next growth)', recovery: 'shed-load', usedBy: ['library'] },
  { kind: 'disk-slow', layer: 'storage', title: 'Slow disk', mechanism: 'the writer thread stalls for a delay at every commit', recovery: 'shed-load', usedBy: ['drill:performance-degradation'] },
  { kind: 'net-partition', layer: 'network', title: 'Partition peers', mechanism: 'fault-injecting TCP proxy blackholes the links', recovery: 'heal-partition', usedBy: ['drill:network-partition'] },
  { kind: 'net-delay', layer: 'network', title: 'Delay with jitter', mechanism: 'TCP proxy holds chunks for latency + seeded jitter', recovery: 'heal-partition', usedBy: ['library'] },
  { kind: 'net-loss', layer: 'network', title: 'Packet loss', mechanism: 'TCP proxy holds lost chunks for a retransmission timeout', recovery: 'heal-partition', usedBy: ['library'] },
  { kind: 'net-bandwidth', layer: 'network', title: 'Bandwidth limit', mechanism: 'TCP proxy token bucket', recovery: 'heal-partition', usedBy: ['library'] },
  { kind: 'net-reset', layer: 'network', title: 'Connection reset', mechanism: 'TCP proxy resets connections with RST', recovery: 'heal-partition', usedBy: ['library'] },
  { kind: 'agent-partition', layer: 'agents', title: 'Partition debate agents', mechanism: 'messages between agent groups are blocked', recovery: 'heal-partition', usedBy: ['drill:network-partition', 'debates'] },
  { kind: 'agent-delay', layer: 'agents', title: 'Delay agent messages', mechanism: 'messages arrive a round late', recovery: 'heal-partition', usedBy: ['debates'] },
  { kind: 'agent-drop', layer: 'agents', title: 'Drop agent messages', mechanism: 'messages are lost', recovery: 'heal-partition', usedBy: ['debates'] },
  { kind: 'agent-duplicate', layer: 'agents', title: 'Duplicate agent messages', mechanism: 'messages arrive twice', recovery: 'heal-partition', usedBy: ['debates'] },
  { kind: 'agent-reorder', layer: 'agents', title: 'Reorder agent messages', mechanism: 'messages arrive out of order', recovery: 'heal-partition', usedBy: ['debates'] },
  { kind: 'load-spike', layer: 'load', title: 'Load spike', mechanism: 'multiply the offered rate for a while', recovery: 'shed-load', usedBy: ['drill:performance-degradation', 'experiments'] },
  { kind: 'load-ramp', layer: 'load', title: 'Load ramp', mechanism: 'raise the offered rate gradually', recovery: 'shed-load', usedBy: ['experiments'] },
  { kind: 'hot-stream', layer: 'load', title: 'Hot stream', mechanism: 'send a share of the load to one stream', recovery: 'shed-load', usedBy: ['experiments'] },
  { kind: 'clock-skew', layer: 'time', title: 'Clock skew', mechanism: "stamp a generator's events ahead of or behind the run's virtual time", recovery: 'rollback', usedBy: ['experiments'] },
  { kind: 'clock-jump', layer: 'time', title: 'Clock jump', mechanism: "step a generator's clock forward or back until it is reset", recovery: 'rollback', usedBy: ['experiments'] },
];

export function faultInfo(kind: string): FaultKindInfo {
  const info = faultCatalogue.find((item) => item.kind === kind);
  if (info === undefined) throw new AuraError('validation', `unknown fault kind ${JSON.stringify(kind)} (kinds: ${faultCatalogue.map((item) => item.kind).join(', ')})`);
  return info;
}

/** Who a fault strikes among the candidate targets. */
export type BlastRadius =
  | { readonly select: 'one' }
  | { readonly select: 'minority' }
  | { readonly select: 'majority' }
  | { readonly select: 'all' }
  | { readonly select: 'percent'; readonly percent: number }
  | { readonly select: 'named'; readonly names: readonly string[] };

/**
 * The targets a blast radius strikes, chosen with `random` (a seeded stream), in candidate
 * order. A minority is the largest group strictly under half; a majority the smallest strictly
 * over half; a percentage rounds up and strikes at least one target.
 */
export function selectTargets(radius: BlastRadius, candidates: readonly string[], random: Random): string[] {
  const n = candidates.length;
  if (n === 0) return [];
  if (radius.select === 'named') {
    const unknown = radius.names.filter((name) => !candidates.includes(name));
    if (unknown.length > 0) throw new AuraError('validation', `no target named ${unknown.map((name) => JSON.stringify(name)).join(', ')} (targets: ${candidates.join(', ')})`);
    return candidates.filter((name) => radius.names.includes(name));
  }
  const count =
    radius.select === 'one' ? 1
    : radius.select === 'all' ? n
    : radius.select === 'minority' ? Math.max(1, Math.ceil(n / 2) - 1)
    : radius.select === 'majority' ? Math.floor(n / 2) + 1
    : Math.min(n, Math.max(1, Math.ceil((n * radius.percent) / 100)));
  if (radius.select === 'percent' && (!(radius.percent > 0) || radius.percent > 100)) throw new AuraError('validation', `a blast radius percentage must be in (0, 100], got ${radius.percent}`);
  // A partial Fisher-Yates shuffle: the first `count` of a seeded permutation.
  const order = candidates.map((_, index) => index);
  for (let index = 0; index < count; index++) {
    const pick = random.int(index, n - 1);
    [order[index], order[pick]] = [order[pick] as number, order[index] as number];
  }
  const chosen = new Set(order.slice(0, count));
  return candidates.filter((_, index) => chosen.has(index));
}
