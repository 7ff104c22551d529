/**
 * Debates scheduled by a scenario: each occurrence plays one debate with the pure debate engine
 * (its own random stream, debates/<name>/<n>) and yields its events, all at the occurrence's
 * virtual time, on the stream debate-<name>-<n>. The protocol's quorum is checked on every
 * debate: a decision without it is a bug and stops the run.
 */
import { checkQuorum, runDebate } from '../debate/debate.ts';
import { debateEvents, type DebateEvent } from '../debate/events.ts';
import { parseDebateSpec, type DebateSpec } from '../debate/spec.ts';
import { AuraError } from '../kernel/errors.ts';
import { asStreamName, type StreamName } from '../kernel/ids.ts';
import type { Random } from '../kernel/random.ts';
import type { DebateSchedule } from './scenario.ts';

export interface DebateOccurrence {
  readonly debateId: string;
  readonly stream: StreamName;
  readonly atUs: number;
  readonly events: readonly DebateEvent[];
}

export class DebateCursor {
  private occurrence = 0;
  private readonly spec: DebateSpec;
  private readonly moments: readonly number[] | undefined;

  constructor(
    readonly schedule: DebateSchedule,
    private readonly random: Random,
  ) {
    this.spec = parseDebateSpec(schedule.debate);
    this.moments = schedule.at === undefined ? undefined : [...schedule.at].sort((a, b) => a - b);
  }

  nextTimeUs(): number {
    if (this.moments !== undefined) return this.moments[this.occurrence] ?? Number.POSITIVE_INFINITY;
    return (this.occurrence + 1) * (this.schedule.every ?? Number.POSITIVE_INFINITY);
  }

  next(): DebateOccurrence {
    const atUs = this.nextTimeUs();
    this.occurrence += 1;
    const debateId = `${this.schedule.name}-${this.occurrence}`;
    const spec: DebateSpec = { ...this.spec, debateId };
    const outcome = runDebate(spec, this.random.split(String(this.occurrence)));
    const violation = checkQuorum(outcome, spec);
    if (violation !== null) throw new AuraError('internal', `debate ${debateId} decided without its quorum (${violation.rule}): ${violation.message}`);
    return { debateId, stream: asStreamName(`debate-${debateId}`), atUs, events: debateEvents(outcome.records) };
  }

  fingerprint(): string {
    return `${this.schedule.name}:${this.occurrence}`;
  }
}
