import type { JsonValue } from '../kernel/canonical.ts';
import { eventsPerSecondByType } from './events-per-second.ts';
import type { ProjectionDefinition } from './projection.ts';

/** Every projection a scenario may name. Workers and tests look definitions up here. */
const definitions = [eventsPerSecondByType] as const;

export const projectionNames = definitions.map((definition) => definition.name);

export function findProjection(name: string): ProjectionDefinition<JsonValue> | undefined {
  return definitions.find((definition) => definition.name === name) as ProjectionDefinition<JsonValue> | undefined;
}
