import type { RunSummary } from '../../../shared/api.ts';

/** A run just started, as the lab shows it until its first progress arrives. */
export function startingSummary(started: { runId: string; scenario: string; seed: number; outDir: string; durationUs: number }, speed: number | 'max'): RunSummary {
  return {
    runId: started.runId,
    scenario: started.scenario,
    seed: started.seed,
    status: 'running',
    outDir: started.outDir,
    events: 0,
    storeCount: null,
    headPosition: 0,
    headHash: '',
    virtualTimeUs: 0,
    durationUs: started.durationUs,
    wallMs: 0,
    paused: false,
    speed,
  };
}
