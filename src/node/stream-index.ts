/**
 * The per-stream index, kept in chunks: each row of stream_chunks holds the positions of a run
 * of consecutive versions of one stream. New positions wait in memory and are written in bulk
 * (every `flushEvents` events, inside the append's transaction), so an append never pays a
 * scattered B-tree insert per event. Everything up to `indexedPosition` is in chunks; the
 * events after it are re-read at open, so a crash loses nothing.
 *
 * Stream versions follow the same rhythm: `streams.version` is written with the chunks, so it
 * is each stream's version as of `indexedPosition` (exact after a clean close, which flushes).
 * A version changed since is in the pending runs (`lastVersion`). Writing it per commit dirtied
 * one streams page per stream touched and cost group commit about a sixth of its throughput.
 *
 * The index is derived data: it can always be rebuilt from the events table.
 */
import type Database from 'better-sqlite3';

interface Pending {
  firstVersion: number;
  positions: number[];
}

function encodePositions(positions: readonly number[]): Buffer {
  const buffer = Buffer.allocUnsafe(positions.length * 8);
  for (let index = 0; index < positions.length; index++) buffer.writeDoubleLE(positions[index] as number, index * 8);
  return buffer;
}

/**
 * Position 0 stands for a version that has no event: a repair could not recover it and put its
 * tombstone in $lost. Readers skip it; chunks keep version = first_version + index.
 */
export const missingVersion = 0;

function appendTo(runs: Map<number, Pending>, streamId: number, version: number, position: number): void {
  const entry = runs.get(streamId);
  if (entry === undefined) runs.set(streamId, { firstVersion: version, positions: [position] });
  else {
    for (let next = entry.firstVersion + entry.positions.length; next < version; next++) entry.positions.push(missingVersion);
    entry.positions.push(position);
  }
}

/** The last version a run holds. */
function lastVersionOf(entry: Pending): number {
  return entry.firstVersion + entry.positions.length - 1;
}

function decodePositions(buffer: Buffer): number[] {
  const out = new Array<number>(buffer.length / 8);
  for (let index = 0; index < out.length; index++) out[index] = buffer.readDoubleLE(index * 8);
  return out;
}

export class StreamIndex {
  private readonly pending = new Map<number, Pending>();
  private pendingEvents = 0;
  private indexed: number;
  private readonly statements;

  constructor(
    private readonly db: Database.Database,
    private readonly flushEvents = 65_536,
  ) {
    this.statements = {
      insertChunk: db.prepare<[number, number, Buffer]>('INSERT INTO stream_chunks (stream_id, first_version, positions) VALUES (?, ?, ?)'),
      setIndexed: db.prepare<[string]>("UPDATE meta SET value = ? WHERE key = 'stream_index_position'"),
      setVersion: db.prepare<[number, number]>('UPDATE streams SET version = ? WHERE stream_id = ?'),
      chunkAtOrBefore: db.prepare<[number, number], { first_version: number; positions: Buffer }>(
        'SELECT first_version, positions FROM stream_chunks WHERE stream_id = ? AND first_version <= ? ORDER BY first_version DESC LIMIT 1',
      ),
      chunksAfter: db.prepare<[number, number], { first_version: number; positions: Buffer }>('SELECT first_version, positions FROM stream_chunks WHERE stream_id = ? AND first_version > ? ORDER BY first_version'),
      chunksBefore: db.prepare<[number, number], { first_version: number; positions: Buffer }>('SELECT first_version, positions FROM stream_chunks WHERE stream_id = ? AND first_version < ? ORDER BY first_version DESC'),
    };
    const row = db.prepare("SELECT value FROM meta WHERE key = 'stream_index_position'").get() as { value: unknown } | undefined;
    // Written as String(position): anything else (damage) is no position (the store refuses to open it).
    const stored = row === undefined ? 0 : Number(row.value);
    this.indexed = row === undefined || String(stored) === row.value ? stored : Number.NaN;
    const tail = db.prepare('SELECT position, stream_id, version FROM events WHERE position > ? ORDER BY position').raw(true);
    for (const [position, streamId, version] of tail.iterate(this.indexed) as Iterable<[number, number, number]>) appendTo(this.pending, streamId, version, position);
    for (const entry of this.pending.values()) this.pendingEvents += entry.positions.length;
  }

  get indexedPosition(): number {
    return this.indexed;
  }

  /**
   * Records positions appended in the open transaction. They join the in-memory index only
   * when the transaction commits (commit()), so a rollback simply drops them.
   */
  readonly transaction: number[] = [];

  add(streamId: number, version: number, position: number): void {
    this.transaction.push(streamId, version, position);
  }

  /** Drops the entries added after `mark` (a savepoint rolled back). */
  truncate(mark: number): void {
    this.transaction.length = mark;
  }

  /**
   * Inside the writer's transaction, after its appends: when enough entries are pending (or
   * `force`), writes them all as chunks. Returns what to do once the transaction commits.
   */
  beforeCommit(headPosition: number, force = false): () => void {
    const entries = this.transaction.length / 3;
    if (entries + this.pendingEvents === 0 || (!force && entries + this.pendingEvents < this.flushEvents)) {
      return () => this.commitToMemory();
    }
    const runs = new Map<number, Pending>();
    for (const [streamId, entry] of this.pending) runs.set(streamId, { firstVersion: entry.firstVersion, positions: [...entry.positions] });
    const tx = this.transaction;
    for (let index = 0; index < tx.length; index += 3) appendTo(runs, tx[index] as number, tx[index + 1] as number, tx[index + 2] as number);
    for (const [streamId, entry] of runs) {
      this.statements.insertChunk.run(streamId, entry.firstVersion, encodePositions(entry.positions));
      this.statements.setVersion.run(lastVersionOf(entry), streamId);
    }
    this.statements.setIndexed.run(String(headPosition));
    return () => {
      this.pending.clear();
      this.pendingEvents = 0;
      this.transaction.length = 0;
      this.indexed = headPosition;
    };
  }

  /**
   * A stream's last version among the committed events after `indexedPosition`; undefined when
   * it has none there (its `streams.version` is then current). Entries of the open transaction
   * are not counted: the writer caches the streams it appends to until the transaction ends.
   */
  lastVersion(streamId: number): number | undefined {
    const entry = this.pending.get(streamId);
    return entry === undefined ? undefined : lastVersionOf(entry);
  }

  /** The transaction rolled back: forget its entries. */
  afterRollback(): void {
    this.transaction.length = 0;
  }

  private commitToMemory(): void {
    const tx = this.transaction;
    for (let index = 0; index < tx.length; index += 3) appendTo(this.pending, tx[index] as number, tx[index + 1] as number, tx[index + 2] as number);
    this.pendingEvents += tx.length / 3;
    tx.length = 0;
  }

  /** Positions of a stream's events, by version: forward from fromVersion, or backward from it. */
  positions(streamId: number, fromVersion: number, maxCount: number, direction: 'forward' | 'backward'): number[] {
    const out: number[] = [];
    const pending = this.pending.get(streamId);
    if (direction === 'forward') {
      const pendingFirst = pending?.firstVersion ?? Number.POSITIVE_INFINITY;
      if (fromVersion < pendingFirst) {
        const first = this.statements.chunkAtOrBefore.get(streamId, fromVersion);
        const take = (chunk: { first_version: number; positions: Buffer }): void => {
          const positions = decodePositions(chunk.positions);
          for (let index = Math.max(0, fromVersion - chunk.first_version); index < positions.length && out.length < maxCount; index++) if (positions[index] !== missingVersion) out.push(positions[index] as number);
        };
        if (first) take(first);
        if (out.length < maxCount) {
          for (const chunk of this.statements.chunksAfter.iterate(streamId, first?.first_version ?? 0)) {
            take(chunk);
            if (out.length >= maxCount) break;
          }
        }
      }
      if (pending !== undefined) {
        for (let index = Math.max(0, fromVersion - pending.firstVersion); index < pending.positions.length && out.length < maxCount; index++) if (pending.positions[index] !== missingVersion) out.push(pending.positions[index] as number);
      }
      return out;
    }
    if (pending !== undefined) {
      for (let index = Math.min(pending.positions.length - 1, fromVersion - pending.firstVersion); index >= 0 && out.length < maxCount; index--) if (pending.positions[index] !== missingVersion) out.push(pending.positions[index] as number);
    }
    const before = pending?.firstVersion ?? Number.MAX_SAFE_INTEGER;
    if (out.length < maxCount && fromVersion > 0) {
      for (const chunk of this.statements.chunksBefore.iterate(streamId, Math.min(before, fromVersion + 1))) {
        const positions = decodePositions(chunk.positions);
        for (let index = Math.min(positions.length - 1, fromVersion - chunk.first_version); index >= 0 && out.length < maxCount; index--) if (positions[index] !== missingVersion) out.push(positions[index] as number);
        if (out.length >= maxCount) break;
      }
    }
    return out;
  }
}
