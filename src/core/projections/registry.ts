import type { JsonValue } from '../kernel/canonical.ts';
import { agentBeliefs } from './agent-beliefs.ts';
import { debateStandings } from './debate-standings.ts';
import { eventsPerSecondByType } from './events-per-second.ts';
import { faultWindows } from './fault-windows.ts';
import type { ProjectionDefinition } from './projection.ts';
import { sloStatus } from './slo-status.ts';
import { throughputByStream } from './throughput-by-stream.ts';

/** Every projection a scenario may name. Workers and tests look definitions up here. */
const definitions = [eventsPerSecondByType, throughputByStream, debateStandings, agentBeliefs, faultWindows, sloStatus] as const;

export const projectionNames = definitions.map((definition) => definition.name);

export function findProjection(name: string): ProjectionDefinition<JsonValue> | undefined {
  return definitions.find((definition) => definition.name === name) as ProjectionDefinition<JsonValue> | undefined;
}
