import { checkExpectedVersion } from '../events/append-rules.ts';
import { eventContentKey } from '../events/encoding.ts';
import type { RecordedEvent } from '../events/event.ts';
import { AuraError } from '../kernel/errors.ts';
import type { EventId, StreamName } from '../kernel/ids.ts';
import type { AppendResult, EventStore, StreamAppend } from '../ports/event-store.ts';

/** The in-memory event store: the reference the SQLite store is tested against. */
export class MemoryEventStore implements EventStore {
  private readonly events: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();

  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    // Plan everything first so that a failure leaves the log unchanged.
    const planned: RecordedEvent[] = [];
    const results: AppendResult[] = [];
    const versions = new Map<string, number>();
    let position = this.events.length;
    for (const append of appends) {
      const duplicate = this.duplicateResult(append);
      if (duplicate) {
        results.push(duplicate);
        continue;
      }
      const current = versions.get(append.stream) ?? this.streams.get(append.stream)?.length ?? 0;
      checkExpectedVersion(append.stream, append.expected, current);
      let version = current;
      const first = position + 1;
      for (const event of append.events) {
        position += 1;
        version += 1;
        planned.push({ ...event, position, stream: append.stream, version });
      }
      versions.set(append.stream, version);
      results.push({ firstPosition: first, lastPosition: position, streamVersion: version });
    }
    for (const event of planned) {
      this.events.push(event);
      let stream = this.streams.get(event.stream);
      if (stream === undefined) {
        stream = [];
        this.streams.set(event.stream, stream);
      }
      stream.push(event);
      this.byId.set(event.id, event);
    }
    return results;
  }

  private duplicateResult(append: StreamAppend): AppendResult | undefined {
    const existing = append.events.map((event) => this.byId.get(event.id));
    const found = existing.filter((event) => event !== undefined);
    if (found.length === 0) return undefined;
    append.events.forEach((event, index) => {
      const original = existing[index];
      if (original === undefined || eventContentKey(original.stream, original) !== eventContentKey(append.stream, event)) {
        throw new AuraError('conflict', `event id ${event.id} was already appended with different content`);
      }
    });
    const positions = found.map((event) => event.position);
    return {
      firstPosition: Math.min(...positions),
      lastPosition: Math.max(...positions),
      streamVersion: this.streams.get(append.stream)?.length ?? 0,
    };
  }

  readAll(fromPosition: number, maxCount: number): RecordedEvent[] {
    const start = Math.max(0, fromPosition - 1);
    return this.events.slice(start, start + maxCount);
  }

  readStream(stream: StreamName, fromVersion: number, maxCount: number): RecordedEvent[] {
    const events = this.streams.get(stream) ?? [];
    const start = Math.max(0, fromVersion - 1);
    return events.slice(start, start + maxCount);
  }

  headPosition(): number {
    return this.events.length;
  }

  count(): number {
    return this.events.length;
  }

  findById(id: EventId): RecordedEvent | undefined {
    return this.byId.get(id);
  }
}
