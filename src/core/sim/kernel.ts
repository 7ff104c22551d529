/**
 * The run kernel: a discrete-event scheduler on a virtual clock. It decides which events happen
 * and when; the shell appends them, paces them against the wall clock and projects them.
 * Pure and deterministic: the same scenario and seed give the same events, ids included.
 */
import { asEventId, type EventId } from '../kernel/ids.ts';
import { createRandom, type Random } from '../kernel/random.ts';
import { runStream, type NewEvent } from '../events/event.ts';
import type { StreamName } from '../kernel/ids.ts';
import type { Scenario } from './scenario.ts';
import { GeneratorCursor } from './workload.ts';

export interface PlannedEvent {
  readonly stream: StreamName;
  readonly event: NewEvent;
}

export type KernelPhase = 'not_started' | 'running' | 'completed';

export class RunKernel {
  readonly durationUs: number;
  private phase: KernelPhase = 'not_started';
  private readonly cursors: GeneratorCursor[];
  private readonly idRandom: Random;
  private workloadEvents = 0;
  private sequence = 0;
  private clockUs = 0;

  constructor(
    readonly scenario: Scenario,
    readonly seed: number,
  ) {
    this.durationUs = scenario.duration;
    const root = createRandom(seed);
    const workload = root.split('workload');
    this.cursors = scenario.workload.map((spec) => new GeneratorCursor(spec, workload.split(spec.name)));
    this.idRandom = root.split('event-ids');
  }

  get status(): KernelPhase {
    return this.phase;
  }

  /** Virtual time reached, in microseconds. */
  get virtualTimeUs(): number {
    return this.clockUs;
  }

  get workloadEventCount(): number {
    return this.workloadEvents;
  }

  /**
   * Advances virtual time to `untilUs` (inclusive), returning the events that happen, at most
   * `maxEvents` of them; call again for the rest. Lifecycle events open and close the run.
   */
  advance(untilUs: number, maxEvents: number): PlannedEvent[] {
    const planned: PlannedEvent[] = [];
    if (this.phase === 'completed') return planned;
    if (this.phase === 'not_started') {
      this.phase = 'running';
      planned.push(
        this.plan(runStream, 'RunStarted', 0, {
          scenario: this.scenario.name,
          seed: this.seed,
          durationUs: this.durationUs,
          generators: this.scenario.workload.map((spec) => spec.name),
        }),
      );
    }
    const limitUs = Math.min(untilUs, this.durationUs);
    while (planned.length < maxEvents) {
      let best: GeneratorCursor | undefined;
      let bestTime = Number.POSITIVE_INFINITY;
      for (const cursor of this.cursors) {
        const time = cursor.nextTimeUs();
        if (time < bestTime) {
          best = cursor;
          bestTime = time;
        }
      }
      if (best === undefined || bestTime >= this.durationUs || bestTime > limitUs) break;
      const generated = best.next();
      this.workloadEvents += 1;
      this.clockUs = generated.virtualTimeUs;
      planned.push({
        stream: generated.stream,
        event: {
          id: this.nextId(),
          type: generated.type,
          schemaVersion: generated.schemaVersion,
          payload: generated.payload,
          metadata: { virtualTimeUs: generated.virtualTimeUs },
        },
      });
    }
    if (planned.length < maxEvents) {
      this.clockUs = Math.max(this.clockUs, limitUs);
      if (untilUs >= this.durationUs) {
        this.phase = 'completed';
        this.clockUs = this.durationUs;
        planned.push(this.plan(runStream, 'RunCompleted', this.durationUs, { workloadEvents: this.workloadEvents }));
      }
    }
    return planned;
  }

  private plan(stream: StreamName, type: string, virtualTimeUs: number, payload: NewEvent['payload']): PlannedEvent {
    return { stream, event: { id: this.nextId(), type, schemaVersion: 1, payload, metadata: { virtualTimeUs } } };
  }

  /**
   * Event ids are 128 bits: the event's sequence number in the run (64 bits, big-endian) and 64
   * bits from the run's PRNG. Deterministic like everything else, and increasing, so that the
   * store's id index grows at its end instead of at random places (about 2x faster appends).
   */
  private nextId(): EventId {
    const sequence = this.sequence++;
    const high = Math.floor(sequence / 4294967296);
    const low = sequence >>> 0;
    return asEventId(
      high.toString(16).padStart(8, '0') +
        low.toString(16).padStart(8, '0') +
        this.idRandom.nextUint32().toString(16).padStart(8, '0') +
        this.idRandom.nextUint32().toString(16).padStart(8, '0'),
    );
  }
}
