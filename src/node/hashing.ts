import { createHash } from 'node:crypto';

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * A repair's tombstone ($EventLost) has this id: derived from its position and the hash it keeps,
 * so a row whose type was changed to a tombstone's is told from one a repair wrote.
 */
export function tombstoneId(position: number, hashHex: string): string {
  return sha256Hex(`lost:${position}:${hashHex}`).slice(0, 32);
}
