import { checkExpectedVersion } from '../events/append-rules.ts';
import { eventContentKey } from '../events/encoding.ts';
import { streamCategory, type NewEvent, type RecordedEvent } from '../events/event.ts';
import type { UpcasterRegistry } from '../events/upcasting.ts';
import { checkEventSize, checkNewEvent, checkStreamName, normalizeEventId } from '../events/validation.ts';
import { AuraError } from '../kernel/errors.ts';
import type { EventId, StreamName } from '../kernel/ids.ts';
import type { AppendResult, EventStore, ExpectedVersion, ReadDirection, ReadFilter, StreamAppend } from '../ports/event-store.ts';

/** The in-memory event store: the reference the SQLite store is tested against. */
export class MemoryEventStore implements EventStore {
  private readonly events: RecordedEvent[] = [];
  private readonly streams = new Map<string, RecordedEvent[]>();
  private readonly byId = new Map<string, RecordedEvent>();
  private readonly listeners = new Set<(head: number) => void>();

  constructor(private readonly upcasters?: UpcasterRegistry) {}

  appendBatch(appends: readonly StreamAppend[]): AppendResult[] {
    // Plan everything first so that a failure leaves the log unchanged.
    const planned: RecordedEvent[] = [];
    const results: AppendResult[] = [];
    const versions = new Map<string, number>();
    const plannedIds = new Set<string>();
    let position = this.events.length;
    for (const append of appends) {
      checkStreamName(append.stream);
      const normalized = append.events.map((event) => ({ ...event, id: checkNewEvent(event) }));
      for (const event of normalized) checkEventSize(event.id, JSON.stringify(event.payload));
      const duplicate = this.duplicateResult(append.stream, normalized);
      if (duplicate) {
        results.push(duplicate);
        continue;
      }
      const current = versions.get(append.stream) ?? this.streams.get(append.stream)?.length ?? 0;
      checkExpectedVersion(append.stream, append.expected, current);
      let version = current;
      const first = position + 1;
      for (const event of normalized) {
        if (plannedIds.has(event.id)) throw new AuraError('conflict', `event id ${event.id} appears twice in one append`);
        plannedIds.add(event.id);
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
    if (planned.length > 0) for (const listener of this.listeners) listener(this.events.length);
    return results;
  }

  append(stream: StreamName, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    try {
      const [result] = this.appendBatch([{ stream, events, expected }]);
      return Promise.resolve(result ?? { firstPosition: 0, lastPosition: 0, streamVersion: this.streamVersion(stream) });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private duplicateResult(stream: StreamName, events: readonly NewEvent[]): AppendResult | undefined {
    const existing = events.map((event) => this.byId.get(event.id));
    if (existing.every((event) => event === undefined)) return undefined;
    events.forEach((event, index) => {
      const original = existing[index];
      if (original === undefined || eventContentKey(original.stream, original) !== eventContentKey(stream, event)) {
        throw new AuraError('conflict', `event id ${event.id} was already appended with different content`);
      }
    });
    const positions = existing.map((event) => event?.position ?? 0);
    return { firstPosition: Math.min(...positions), lastPosition: Math.max(...positions), streamVersion: this.streamVersion(stream) };
  }

  readAll(fromPosition: number, maxCount: number, filter?: ReadFilter): RecordedEvent[] {
    const out: RecordedEvent[] = [];
    for (let index = Math.max(0, fromPosition - 1); index < this.events.length && out.length < maxCount; index++) {
      const event = this.events[index] as RecordedEvent;
      if (matches(event, filter)) out.push(this.upcast(event));
    }
    return out;
  }

  readStream(stream: StreamName, fromVersion: number, maxCount: number, direction: ReadDirection = 'forward'): RecordedEvent[] {
    const events = this.streams.get(stream) ?? [];
    if (direction === 'forward') {
      const start = Math.max(0, fromVersion - 1);
      return events.slice(start, start + maxCount).map((event) => this.upcast(event));
    }
    const end = Math.min(events.length, fromVersion);
    return events
      .slice(Math.max(0, end - maxCount), end)
      .reverse()
      .map((event) => this.upcast(event));
  }

  streamVersion(stream: StreamName): number {
    return this.streams.get(stream)?.length ?? 0;
  }

  headPosition(): number {
    return this.events.length;
  }

  count(): number {
    return this.events.length;
  }

  findById(id: EventId): RecordedEvent | undefined {
    const event = this.byId.get(normalizeEventId(id));
    return event && this.upcast(event);
  }

  onAppended(listener: (headPosition: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private upcast(event: RecordedEvent): RecordedEvent {
    return this.upcasters === undefined ? event : this.upcasters.apply(event);
  }
}

function matches(event: RecordedEvent, filter: ReadFilter | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
  if (filter.streams !== undefined && filter.streams.length > 0 && !filter.streams.includes(event.stream)) return false;
  if (filter.category !== undefined && streamCategory(event.stream) !== filter.category) return false;
  return true;
}
