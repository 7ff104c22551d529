import { AuraError } from '../kernel/errors.ts';
import type { ExpectedVersion } from '../ports/event-store.ts';

/** The expected-version rule shared by every store, so that all of them fail the same way. */
export function checkExpectedVersion(stream: string, expected: ExpectedVersion, currentVersion: number): void {
  switch (expected.kind) {
    case 'any':
      return;
    case 'no_stream':
      if (currentVersion !== 0) {
        throw new AuraError('concurrency', `stream ${stream} already exists at version ${currentVersion}; expected no stream`);
      }
      return;
    case 'exact':
      if (currentVersion !== expected.version) {
        throw new AuraError('concurrency', `stream ${stream} is at version ${currentVersion}; expected version ${expected.version}`);
      }
      return;
  }
}
