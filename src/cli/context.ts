import { homedir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../node/runtime.ts';

/** Where the lab keeps its data: $AURA_LAB_HOME, or ~/.aura-lab. */
export function dataDir(): string {
  return process.env.AURA_LAB_HOME ?? join(homedir(), '.aura-lab');
}

export function scenariosDir(): string {
  return process.env.AURA_LAB_SCENARIOS_DIR ?? join(packageRoot(), 'scenarios');
}

/** An error the user must act on: printed as one line, exit code attached. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
