import { describe, expect, it } from 'vitest';
import { declaredKey, unexplainedGaps, type StreamGap } from '../../src/node/chain-check.ts';

/** [position after the gap, stream id, from, to, position before the gap]. */
const gap = (after: number, position: number, missing = 1, streamId = 1): StreamGap => [position, streamId, 5, 5 + missing, after];

describe('version gaps explained by tombstones that name nothing', () => {
  it('explains a gap only by a tombstone strictly between the stream events around it', () => {
    expect(unexplainedGaps([gap(5, 10)], [])).toEqual([gap(5, 10)]);
    expect(unexplainedGaps([gap(5, 10)], [7])).toEqual([]);
    for (const outside of [3, 5, 10, 12]) expect(unexplainedGaps([gap(5, 10)], [outside]), `tombstone at ${outside}`).toEqual([gap(5, 10)]);
  });

  it('gives each tombstone to one missing version', () => {
    expect(unexplainedGaps([gap(5, 10, 1, 1), gap(6, 12, 1, 2)], [7])).toEqual([gap(6, 12, 1, 2)]);
    expect(unexplainedGaps([gap(5, 10, 1, 1), gap(6, 12, 1, 2)], [8, 7])).toEqual([]);
    expect(unexplainedGaps([gap(5, 10, 2)], [7])).toEqual([gap(5, 10, 2)]);
    expect(unexplainedGaps([gap(5, 10, 2)], [9, 7])).toEqual([]);
  });

  it('matches gaps in the order they close, so a wide gap does not take what a narrow one needs', () => {
    // Listed wide first: taking the earliest tombstone for it would leave the narrow gap none.
    expect(unexplainedGaps([gap(0, 100, 1, 1), gap(5, 8, 1, 2)], [6, 50])).toEqual([]);
  });

  it('leaves a gap it cannot explain whole its tombstones for the others', () => {
    expect(unexplainedGaps([gap(0, 10, 2, 1), gap(0, 12, 1, 2)], [5, 15])).toEqual([gap(0, 10, 2, 1)]);
    expect(unexplainedGaps([gap(0, 10, 2, 1), gap(0, 20, 1, 2)], [5])).toEqual([gap(0, 10, 2, 1)]);
  });

  it('needs unnamed tombstones only for the versions no tombstone names', () => {
    // Versions 5 and 6 missing; a tombstone in $lost names 6.
    expect(unexplainedGaps([gap(0, 10, 2)], [7], new Set([declaredKey(1, 6)]))).toEqual([]);
    expect(unexplainedGaps([gap(0, 10, 2)], [7], new Set([declaredKey(2, 6)]))).toEqual([gap(0, 10, 2)]);
  });

  it('does not count through a gap of more versions than there are tombstones', () => {
    const huge = gap(0, 10, 2 ** 40);
    expect(unexplainedGaps([huge], [1, 2, 3])).toEqual([huge]);
  });
});
