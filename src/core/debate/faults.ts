/**
 * Message faults between agents. Each fault in the spec draws from its own stream
 * (`faults/<index>`), so adding a fault never shifts the draws of the others, nor the agents'.
 *
 * A message hop from -> to in round r passes the faults in spec order:
 * - partition: blocked if from and to are in different groups (agents not listed in any group
 *   form one more group together);
 * - drop: lost with the fault's probability;
 * - delay: delivered at the end of the next round instead;
 * - duplicate: delivered twice;
 * - reorder: inserted at a random place in the recipient's inbox rather than at its end.
 * A crash stops an agent from a round on: it neither speaks nor votes (messages already in
 * flight still arrive). Every effect is reported as a fault record.
 */
import type { Random } from '../kernel/random.ts';
import type { FaultKind, FaultRecord } from './records.ts';
import type { Fault } from './spec.ts';

export interface Transmission {
  readonly copies: 1 | 2;
  readonly delay: 0 | 1;
  /** Index of the reorder fault that hit this hop, or -1. */
  readonly reorder: number;
}

const clean: Transmission = { copies: 1, delay: 0, reorder: -1 };

interface PreparedFault {
  readonly fault: Fault;
  readonly index: number;
  readonly random: Random;
  readonly fromRound: number;
  readonly toRound: number;
  readonly from: number;
  readonly to: number;
  /** partition: group of each agent (-1: not listed). */
  readonly groups: readonly number[];
}

export class FaultInjector {
  private readonly prepared: PreparedFault[];
  private readonly messageFaults: PreparedFault[];
  private readonly crashRounds: number[];
  private counter = 0;
  readonly any: boolean;

  constructor(
    faults: readonly Fault[],
    private readonly names: readonly string[],
    private readonly debateId: string,
    random: Random,
    private readonly emit: (record: FaultRecord) => void,
  ) {
    const stream = faults.length > 0 ? random.split('faults') : random;
    const indexOf = (name: string | undefined): number => (name === undefined ? -1 : names.indexOf(name));
    this.prepared = faults.map((fault, index) => {
      const groups = new Array<number>(names.length).fill(-1);
      if (fault.kind === 'partition') fault.groups.forEach((group, g) => group.forEach((member) => (groups[names.indexOf(member)] = g)));
      const hasFilters = fault.kind !== 'crash' && fault.kind !== 'partition';
      return {
        fault,
        index,
        random: stream.split(String(index)),
        fromRound: fault.fromRound,
        toRound: fault.kind === 'crash' ? Infinity : (fault.toRound ?? Infinity),
        from: hasFilters ? indexOf(fault.from) : -1,
        to: hasFilters ? indexOf(fault.to) : -1,
        groups,
      };
    });
    this.messageFaults = this.prepared.filter((item) => item.fault.kind !== 'crash');
    this.any = this.messageFaults.length > 0;
    this.crashRounds = names.map(() => Infinity);
    for (const item of this.prepared) {
      if (item.fault.kind === 'crash') {
        const agent = names.indexOf(item.fault.agent);
        this.crashRounds[agent] = Math.min(this.crashRounds[agent] as number, item.fromRound);
      }
    }
  }

  /** The first round an agent is crashed in (Infinity: never). */
  crashRound(agent: number): number {
    return this.crashRounds[agent] as number;
  }

  /** Reports the crashes that take effect in this round. */
  startRound(round: number): void {
    for (const item of this.prepared) {
      if (item.fault.kind === 'crash' && item.fromRound === round) {
        const agent = item.fault.agent;
        // Reported once per agent: at its earliest crash.
        if (this.crashRounds[this.names.indexOf(agent)] === round) this.record(item.index, 'crash', round, agent);
      }
    }
  }

  /** The fate of one hop, or null if it is lost. */
  transmit(from: number, to: number, round: number): Transmission | null {
    if (!this.any) return clean;
    let copies: 1 | 2 = 1;
    let delay: 0 | 1 = 0;
    let reorder = -1;
    for (const item of this.messageFaults) {
      if (round < item.fromRound || round > item.toRound) continue;
      const kind = item.fault.kind;
      if (kind === 'partition') {
        if (item.groups[from] !== item.groups[to]) {
          this.recordHop(item.index, 'partition', round, from, to);
          return null;
        }
        continue;
      }
      if ((item.from >= 0 && item.from !== from) || (item.to >= 0 && item.to !== to)) continue;
      const probability = (item.fault as { probability: number }).probability;
      if (!(item.random.nextFloat() < probability)) continue;
      this.recordHop(item.index, kind as FaultKind, round, from, to);
      if (kind === 'drop') return null;
      if (kind === 'delay') delay = 1;
      else if (kind === 'duplicate') copies = 2;
      else reorder = item.index;
    }
    return copies === 1 && delay === 0 && reorder === -1 ? clean : { copies, delay, reorder };
  }

  /** Where a reordered message goes in an inbox of this length. */
  reorderPosition(faultIndex: number, length: number): number {
    return (this.prepared[faultIndex] as PreparedFault).random.int(0, length);
  }

  private recordHop(index: number, kind: FaultKind, round: number, from: number, to: number): void {
    const fromName = this.names[from] as string;
    const toName = this.names[to] as string;
    this.record(index, kind, round, `${fromName}->${toName}`, fromName, toName);
  }

  private record(index: number, kind: FaultKind, round: number, target: string, from?: string, to?: string): void {
    this.counter += 1;
    const record: FaultRecord = { type: 'fault', debateId: this.debateId, faultId: `${this.debateId}/fault-${index}/${this.counter}`, kind, round, target, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) };
    this.emit(record);
  }
}
