/** A chart's fault bands as a React-owned `<g>` that the d3 helper fills (drawn behind the series). */
import { useEffect, useMemo, useRef } from 'react';
import type { FaultWindow } from '../../../../shared/api.ts';
import { useDrills } from '../../state/use-drills.ts';
import { useLab } from '../../state/use-lab.ts';
import { drawFaultBands, logFaultWindows, mergeFaultWindows } from './fault-bands.ts';

export function FaultBands({ faults, x, top, bottom, openEndSeconds }: { faults: readonly FaultWindow[]; x: (seconds: number) => number; top: number; bottom: number; openEndSeconds: number }) {
  const ref = useRef<SVGGElement>(null);
  useEffect(() => {
    if (ref.current) drawFaultBands(ref.current, faults, { x, top, bottom, openEndSeconds });
  }, [faults, x, top, bottom, openEndSeconds]);
  return <g ref={ref} className="fault-bands" />;
}

const none: readonly FaultWindow[] = [];

/**
 * A run's fault windows known to the page: injected from the Drills tab (and as the engine last
 * listed them), and the log's own from the pushed fault-windows projection.
 */
export function useRunFaults(runId: string | undefined): readonly FaultWindow[] {
  const known = useDrills((state) => (runId === undefined ? undefined : state.faults[runId]));
  const projected = useLab((state) => (runId === undefined ? undefined : state.projections[runId]?.['fault-windows']?.state));
  return useMemo(() => {
    const merged = mergeFaultWindows(known, projected === undefined ? undefined : logFaultWindows(projected));
    return merged.length === 0 ? none : merged;
  }, [known, projected]);
}
