import { InvariantError } from './errors.ts';

/** Asserts an invariant. A failure is a bug, never a user error: use AuraError for those. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantError(`invariant failed: ${message}`);
}

export function unreachable(value: never): never {
  throw new InvariantError(`unreachable: ${JSON.stringify(value)}`);
}
