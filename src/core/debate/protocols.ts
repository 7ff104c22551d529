/**
 * Who speaks when (protocols) and who hears whom (topologies).
 *
 * - simultaneous (Du et al. 2023): every agent speaks each round; messages of a round are
 *   delivered at its end, so each agent reads the others' previous answers.
 * - sequential: agents speak one by one in spec order; a message is delivered at once, so an
 *   agent reads the earlier answers of the round (and the later ones of the previous round).
 * - mad (Liang et al. 2023): affirmatives (even positions) then negatives (odd positions), one by
 *   one; the negative side opens with its own answer; a moderator checks after every round
 *   and may stop the debate (see debate.ts).
 * - round-robin (AutoGen's RoundRobinGroupChat): round 1 is everyone's opening answer at once;
 *   from round 2 one speaker per round, in spec order, reading everything said since its turn.
 */
import type { Random } from '../kernel/random.ts';
import type { AgentRole } from './agents.ts';
import type { ProtocolName, Topology } from './spec.ts';

export interface Slot {
  readonly agent: number;
  readonly role: AgentRole;
}

export interface RoundPlan {
  readonly slots: readonly Slot[];
  /** Messages reach their recipients at once (true) or at the end of the round (false). */
  readonly immediate: boolean;
}

/** Precomputed round plans of a protocol for n agents. */
export class Schedule {
  private readonly everyone: RoundPlan;
  private readonly singles: RoundPlan[] = [];
  private readonly plan: RoundPlan;

  constructor(
    readonly protocol: ProtocolName,
    private readonly agentCount: number,
  ) {
    const all = Array.from({ length: agentCount }, (_, agent): Slot => ({ agent, role: 'debater' }));
    this.everyone = { slots: all, immediate: false };
    switch (protocol) {
      case 'simultaneous':
        this.plan = this.everyone;
        break;
      case 'sequential':
        this.plan = { slots: all, immediate: true };
        break;
      case 'mad': {
        const affirmative = all.filter((slot) => slot.agent % 2 === 0).map((slot): Slot => ({ agent: slot.agent, role: 'affirmative' }));
        const negative = all.filter((slot) => slot.agent % 2 === 1).map((slot): Slot => ({ agent: slot.agent, role: 'negative' }));
        this.plan = { slots: [...affirmative, ...negative], immediate: true };
        break;
      }
      case 'round-robin':
        this.plan = this.everyone;
        for (let agent = 0; agent < agentCount; agent++) this.singles.push({ slots: [{ agent, role: 'debater' }], immediate: true });
        break;
    }
  }

  round(round: number): RoundPlan {
    if (this.protocol === 'round-robin' && round > 1) return this.singles[(round - 2) % this.agentCount] as RoundPlan;
    return this.plan;
  }
}

/**
 * Routes from each sender: `direct[j]` hear j directly; `relayed[j]` hear j through the hub
 * (centralised topology), which must be alive and reached first.
 */
export interface Routes {
  readonly direct: readonly (readonly number[])[];
  readonly hub: number;
  readonly relayed: readonly (readonly number[])[];
}

/**
 * full: everyone hears everyone. sparse(k): each agent listens to k peers drawn once per debate
 * (from the `topology/<name>` stream). centralised: all talk through the hub (spec.hub, else the
 * first agent): the hub hears everyone and everyone hears the hub; others' messages are relayed
 * by the hub, and get nowhere if it has crashed.
 */
export function buildRoutes(topology: Topology, names: readonly string[], random: Random): Routes {
  const n = names.length;
  const others = (j: number): number[] => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) if (i !== j) out.push(i);
    return out;
  };
  const none = Array.from({ length: n }, (): number[] => []);
  switch (topology.kind) {
    case 'full':
      return { direct: names.map((_, j) => others(j)), hub: -1, relayed: none };
    case 'sparse': {
      const stream = random.split('topology');
      const direct = Array.from({ length: n }, (): number[] => []);
      for (let i = 0; i < n; i++) {
        const peers = others(i);
        const draw = stream.split(names[i] as string);
        // Partial Fisher-Yates: the first k entries are a uniform k-subset.
        for (let slot = 0; slot < topology.k; slot++) {
          const pick = draw.int(slot, peers.length - 1);
          const chosen = peers[pick] as number;
          peers[pick] = peers[slot] as number;
          peers[slot] = chosen;
        }
        for (let slot = 0; slot < topology.k; slot++) (direct[peers[slot] as number] as number[]).push(i);
      }
      for (const list of direct) list.sort((a, b) => a - b);
      return { direct, hub: -1, relayed: none };
    }
    case 'centralised': {
      const hub = topology.hub === undefined ? 0 : names.indexOf(topology.hub);
      return {
        direct: names.map((_, j) => (j === hub ? others(j) : [hub])),
        hub,
        relayed: names.map((_, j) => (j === hub ? [] : others(j).filter((i) => i !== hub))),
      };
    }
  }
}

/** Who hears whom, as names: for tests and displays. */
export function listenersOf(routes: Routes, names: readonly string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  names.forEach((name, j) => {
    out[name] = [...(routes.direct[j] ?? []), ...(routes.relayed[j] ?? [])].sort((a, b) => a - b).map((i) => names[i] as string);
  });
  return out;
}
