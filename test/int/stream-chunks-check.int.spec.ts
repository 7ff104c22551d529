/**
 * The stream index check (chain-check.ts: badStreamChunks): every position a chunk names must be
 * its stream's event at that version, as the chain check read it.
 */
import { describe, expect, it } from 'vitest';
import { badStreamChunks, type ChunkRow } from '../../src/node/chain-check.ts';

/** Positions 1..6 read as: stream 1 versions 1..3 at positions 1, 3, 5; stream 2 versions 1..2 at 2, 4; position 6 not read. */
const streamAt = Int32Array.from([-1, 1, 2, 1, 2, 1, -1]);
const versionAt = Int32Array.from([0, 1, 1, 2, 2, 3, 0]);
const head = 6;

function chunk(streamId: number, firstVersion: number, positions: number[], bytes?: Buffer): ChunkRow {
  const blob = bytes ?? Buffer.alloc(positions.length * 8);
  if (bytes === undefined) positions.forEach((position, index) => blob.writeDoubleLE(position, index * 8));
  return { stream_id: streamId, first_version: firstVersion, positions: blob };
}

describe('stream index check', () => {
  it('accepts chunks that name exactly their events, and versions with no event (0)', () => {
    expect(badStreamChunks([chunk(1, 1, [1, 3, 5]), chunk(2, 1, [2, 4]), chunk(2, 3, [0])], head, streamAt, versionAt)).toEqual([]);
    // A chunk from a later version, and a duplicate of a good chunk, are as good.
    expect(badStreamChunks([chunk(1, 2, [3, 5]), chunk(1, 2, [3, 5])], head, streamAt, versionAt)).toEqual([]);
  });

  it('names each wrong chunk once, with the first wrong entry and its earliest valid position', () => {
    const bad = badStreamChunks(
      [
        chunk(1, 1, [1, 4, 5]), // position 4 is stream 2's
        chunk(2, 1, [2, 9]), // 9 is past the head
        chunk(1, 2, [3, 2.5]), // not a whole position
        chunk(-1, 0, [6]), // position 6 was not read (a stream id -1, version 0 must not match "not read")
        chunk(1, 1, [1, 3, 0, 6]), // 6 not read
        chunk(2, 2, [2]), // version 2 of stream 2 is at 4
      ],
      head,
      streamAt,
      versionAt,
    );
    expect(bad.map((item) => [item.streamId, item.firstVersion, item.firstPosition, item.detail.replace(/^stream index: the chunk of stream -?\d+ from version \d+ /, '')])).toEqual([
      [1, 1, 1, 'names position 4 for version 2, which is not that event'],
      [2, 1, 2, 'names position 9 for version 2, which is not that event'],
      [1, 2, 3, 'names position 2.5 for version 3, which is not that event'],
      [-1, 0, 6, 'names position 6 for version 0, which is not that event'],
      [1, 1, 1, 'names position 6 for version 4, which is not that event'],
      [2, 2, 2, 'names position 2 for version 2, which is not that event'],
    ]);
  });

  it('reports a chunk whose length is not a whole number of positions, and reads unaligned blobs', () => {
    const odd = Buffer.alloc(17);
    odd.writeDoubleLE(1, 0);
    odd.writeDoubleLE(3, 8);
    expect(badStreamChunks([chunk(1, 1, [], odd)], head, streamAt, versionAt).map((item) => item.detail)).toEqual(['stream index: the chunk of stream 1 from version 1 a chunk of a length that is not a whole number of positions']);
    const unaligned = Buffer.alloc(25).subarray(1);
    [1, 3, 5].forEach((position, index) => unaligned.writeDoubleLE(position, index * 8));
    expect(badStreamChunks([chunk(1, 1, [], unaligned)], head, streamAt, versionAt)).toEqual([]);
    unaligned.writeDoubleLE(4, 8);
    expect(badStreamChunks([chunk(1, 1, [], unaligned)], head, streamAt, versionAt).map((item) => item.firstPosition)).toEqual([1]);
  });
});
