/** Branded ids: a RunId cannot be passed where a StreamName is expected. */
export type RunId = string & { readonly __brand: 'RunId' };
export type StreamName = string & { readonly __brand: 'StreamName' };
export type EventId = string & { readonly __brand: 'EventId' };
export type ScenarioName = string & { readonly __brand: 'ScenarioName' };

export const asRunId = (value: string): RunId => value as RunId;
export const asStreamName = (value: string): StreamName => value as StreamName;
export const asEventId = (value: string): EventId => value as EventId;
export const asScenarioName = (value: string): ScenarioName => value as ScenarioName;
