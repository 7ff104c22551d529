/**
 * Workload generators: turn a scenario's generator spec into a deterministic sequence of
 * events. Every random choice comes from the generator's own PRNG stream, split by name, so
 * adding a generator never changes what the others produce.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { asStreamName, type StreamName } from '../kernel/ids.ts';
import type { Random } from '../kernel/random.ts';
import { ArrivalProcess, type RateProfile } from './arrivals.ts';
import type { PayloadField, WorkloadGenerator } from './scenario.ts';

export interface GeneratedEvent {
  readonly stream: StreamName;
  readonly type: string;
  readonly schemaVersion: number;
  readonly payload: JsonValue;
  readonly virtualTimeUs: number;
}

const letters = 'abcdefghijklmnopqrstuvwxyz';

export class GeneratorCursor {
  private index = 0;
  private readonly totalWeight: number;
  private readonly fieldOrder: readonly (readonly [string, PayloadField][])[];
  private readonly typeRandom: Random;
  private readonly streamRandom: Random;
  private readonly payloadRandom: Random;
  private readonly arrivalRandom: Random;
  private arrivals: ArrivalProcess;

  constructor(
    readonly spec: WorkloadGenerator,
    random: Random,
  ) {
    this.totalWeight = spec.events.reduce((sum, event) => sum + (event.weight ?? 1), 0);
    this.fieldOrder = spec.events.map((event) => Object.entries(event.payload ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    this.typeRandom = random.split('type');
    this.streamRandom = random.split('stream');
    this.payloadRandom = random.split('payload');
    this.arrivalRandom = random.split('arrivals');
    this.arrivals = new ArrivalProcess(spec.rate, this.arrivalRandom, 0);
  }

  /** Virtual time of the next event, in microseconds. Integer arithmetic, exact everywhere. */
  nextTimeUs(): number {
    return this.arrivals.peek();
  }

  /** From `atUs` on, events arrive at `rate` (an operator changed the rate). */
  changeRate(rate: RateProfile, atUs: number): void {
    this.arrivals = new ArrivalProcess(rate, this.arrivalRandom, atUs);
  }

  /** This generator's position, for state hashes at checkpoints. */
  fingerprint(): string {
    return `${this.spec.name}:${this.index}:${this.arrivals.fingerprint()}`;
  }

  next(): GeneratedEvent {
    const virtualTimeUs = this.arrivals.advance();
    const sequence = this.index;
    this.index += 1;
    let pick = this.typeRandom.int(0, this.totalWeight - 1);
    let chosen = 0;
    for (let index = 0; index < this.spec.events.length; index++) {
      const weight = this.spec.events[index]?.weight ?? 1;
      if (pick < weight) {
        chosen = index;
        break;
      }
      pick -= weight;
    }
    const eventSpec = this.spec.events[chosen];
    const fields = this.fieldOrder[chosen];
    if (eventSpec === undefined || fields === undefined) throw new RangeError('generator has no event types');
    const streamIndex = this.spec.streams.count === 1 ? 0 : this.streamRandom.int(0, this.spec.streams.count - 1);
    const payload: Record<string, JsonValue> = {};
    for (const [name, field] of fields) payload[name] = this.field(field, sequence);
    return {
      stream: asStreamName(`${this.spec.streams.prefix}${streamIndex}`),
      type: eventSpec.type,
      schemaVersion: eventSpec.schemaVersion ?? 1,
      payload,
      virtualTimeUs,
    };
  }

  private field(field: PayloadField, sequence: number): JsonValue {
    switch (field.kind) {
      case 'int':
        return this.payloadRandom.int(field.value.min, field.value.max);
      case 'oneOf':
        return field.value[this.payloadRandom.int(0, field.value.length - 1)] as JsonValue;
      case 'const':
        return field.value;
      case 'text': {
        let text = '';
        for (let index = 0; index < field.value.length; index++) text += letters[this.payloadRandom.int(0, 25)];
        return text;
      }
      case 'sequence':
        return (field.value.start ?? 1) + sequence;
      case 'chance':
        return this.payloadRandom.nextFloat() < field.value;
    }
  }
}
