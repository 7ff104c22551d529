/**
 * Schema evolution: an event type's payload changes shape over time; its schemaVersion says
 * which shape an event was written in. Upcasters registered here turn an old version into the
 * next one, on read. The log itself is never rewritten.
 */
import type { JsonValue } from '../kernel/canonical.ts';
import { AuraError } from '../kernel/errors.ts';
import { toPlainEvent, type RecordedEvent } from './event.ts';

export interface Upcaster {
  readonly type: string;
  /** The version this upcaster reads; it produces fromVersion + 1. */
  readonly fromVersion: number;
  readonly upcast: (payload: JsonValue, event: RecordedEvent) => JsonValue;
}

export class UpcasterRegistry {
  private readonly byType = new Map<string, Map<number, Upcaster>>();

  register(upcaster: Upcaster): this {
    let versions = this.byType.get(upcaster.type);
    if (versions === undefined) {
      versions = new Map();
      this.byType.set(upcaster.type, versions);
    }
    if (versions.has(upcaster.fromVersion)) {
      throw new AuraError('conflict', `an upcaster for ${upcaster.type} v${upcaster.fromVersion} is already registered`);
    }
    versions.set(upcaster.fromVersion, upcaster);
    return this;
  }

  get empty(): boolean {
    return this.byType.size === 0;
  }

  /** The event in the newest shape its type has upcasters for. */
  apply(event: RecordedEvent): RecordedEvent {
    const versions = this.byType.get(event.type);
    if (versions === undefined) return event;
    let current = event;
    for (let upcaster = versions.get(current.schemaVersion); upcaster !== undefined; upcaster = versions.get(current.schemaVersion)) {
      // A new plain object: stored events may carry extra fields (raw JSON) that must not survive an upcast.
      current = toPlainEvent(current, { schemaVersion: current.schemaVersion + 1, payload: upcaster.upcast(current.payload, current) });
    }
    return current;
  }
}
