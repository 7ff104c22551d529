/**
 * Replay: re-executes a run from its manifest (scenario text, seed, operator actions) and checks
 * the recorded log against it, event by event and at every checkpoint: the regenerated event's
 * framing and chain hash against the stored row's, the kernel's state hash and the log hash
 * against the manifest's. The first divergence is reported with both events side by side.
 */
import { genesisHashHex, hashFraming } from '../core/events/encoding.ts';
import { AuraError } from '../core/kernel/errors.ts';
import { limits } from '../core/kernel/limits.ts';
import { RunKernel } from '../core/sim/kernel.ts';
import { runExperiment } from '../core/chaos/experiment.ts';
import { parseExperimentText } from './chaos-experiment.ts';
import { EventReader } from './event-reader.ts';
import { sha256Hex } from './hashing.ts';
import { readRunManifest, type RunManifest } from './run-manifest.ts';
import { runFiles } from './run-files.ts';
import { parseScenarioText } from './scenario-loader.ts';
import { chainHash, encodeAppend, framingOfRow } from './sqlite-event-store.ts';
import { openDatabase } from './sqlite-schema.ts';
import { anyVersion } from '../core/ports/event-store.ts';

/** One side of a divergence: the event as its framing fields. */
export interface EventSide {
  readonly position: number;
  readonly stream: string;
  readonly version: number;
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly virtualTimeUs: number;
  readonly payload: string;
}

export interface Divergence {
  readonly position: number;
  readonly kind: 'event' | 'hash' | 'missing' | 'extra' | 'checkpoint';
  readonly detail: string;
  /** What re-executing the run produced at that position (absent: the run produced nothing there). */
  readonly expected?: EventSide;
  /** What the recorded log holds there (absent: the log ends before it). */
  readonly recorded?: EventSide;
}

export interface ReplayReport {
  readonly runDir: string;
  readonly runId: string;
  readonly identical: boolean;
  readonly events: number;
  readonly recordedHead: number;
  readonly checkpointsChecked: number;
  readonly headHash: string;
  readonly divergence?: Divergence;
  readonly wallMs: number;
}

/** An event's fields back from its framing text (see hashFraming). */
export function framingSide(framing: string): EventSide {
  const [position, stream, version, id, type, schemaVersion, virtualTimeUs, , , ...payload] = framing.split('\n');
  return {
    position: Number(position),
    stream: stream ?? '',
    version: Number(version),
    id: id ?? '',
    type: type ?? '',
    schemaVersion: Number(schemaVersion),
    virtualTimeUs: Number(virtualTimeUs),
    payload: payload.join('\n'),
  };
}

export interface ReplayOptions {
  readonly onProgress?: (checked: number, total: number) => void;
  /** A manifest already read (fork and the engine pass theirs). */
  readonly manifest?: RunManifest;
}

export function replayRun(runDir: string, options: ReplayOptions = {}): ReplayReport {
  const started = performance.now();
  const manifest = options.manifest ?? readRunManifest(runDir);
  const scenario = parseScenarioText(manifest.scenario.text, `${runFiles.manifest(runDir)} (scenario.text)`);
  if (sha256Hex(manifest.scenario.text) !== manifest.scenario.sha256) {
    throw new AuraError('validation', `${runFiles.manifest(runDir)}: scenario.sha256 does not match scenario.text`);
  }
  const db = openDatabase(runFiles.eventLog(runDir), { readonly: true });
  try {
    const reader = new EventReader(db);
    const head = (db.prepare('SELECT coalesce(max(position), 0) AS head FROM events').get() as { head: number }).head;
    const kernel = new RunKernel(scenario, manifest.seed, manifest.actions);
    // A chaos experiment's run is the experiment run again (its faults are part of the method).
    const experimentEvents = manifest.experiment?.text === undefined ? undefined : runExperiment(parseExperimentText(manifest.experiment.text, `${runFiles.manifest(runDir)} (experiment.text)`), scenario, manifest.seed).events;
    let experimentAt = 0;
    const done = (): boolean => (experimentEvents === undefined ? kernel.status === 'completed' : experimentAt >= experimentEvents.length);
    const checkpoints = new Map(manifest.checkpoints.map((checkpoint) => [checkpoint.position, checkpoint]));
    const rows = reader.pagedRawRange(1, head);
    const versions = new Map<string, number>();
    let position = 0;
    let previous = genesisHashHex;
    let checked = 0;
    const finish = (divergence?: Divergence): ReplayReport => ({
      runDir,
      runId: manifest.runId,
      identical: divergence === undefined,
      events: position,
      recordedHead: head,
      checkpointsChecked: checked,
      headHash: previous,
      ...(divergence === undefined ? {} : { divergence }),
      wallMs: Math.round(performance.now() - started),
    });
    let nextCheckpoint = nextCheckpointAfter(manifest, 0);
    while (!done()) {
      const batch = Math.max(1, Math.min(limits.appendBatchEventsMax, nextCheckpoint - (experimentEvents === undefined ? kernel.plannedEvents : experimentAt)));
      const planned = experimentEvents === undefined ? kernel.advance(Number.POSITIVE_INFINITY, batch) : experimentEvents.slice(experimentAt, (experimentAt += batch));
      for (const item of planned) {
        const encoded = encodeAppend({ stream: item.stream, events: [item.event], expected: anyVersion }).events[0];
        if (encoded === undefined) throw new Error('encodeAppend returned no event');
        position += 1;
        const version = (versions.get(item.stream) ?? 0) + 1;
        versions.set(item.stream, version);
        const framing = hashFraming(position, item.stream, version, encoded.id, encoded.type, encoded.schemaVersion, encoded.virtualTimeUs, encoded.causationId ?? undefined, encoded.correlationId ?? undefined, encoded.payloadText);
        const hash = chainHash(previous, framing);
        const next = rows.next();
        if (next.done === true) {
          return finish({ position, kind: 'missing', detail: `the recorded log ends at position ${head}; the run goes on`, expected: framingSide(framing) });
        }
        const row = next.value;
        let recorded: string;
        try {
          recorded = framingOfRow(reader, row);
        } catch (error) {
          return finish({ position, kind: 'event', detail: `the recorded event cannot be read: ${(error as Error).message}`, expected: framingSide(framing) });
        }
        if (row[0] !== position || recorded !== framing) {
          return finish({ position, kind: 'event', detail: 'the recorded event differs from the one the run produces', expected: framingSide(framing), recorded: framingSide(recorded) });
        }
        if (row[10] !== hash) {
          return finish({ position, kind: 'hash', detail: 'the event is the same but its recorded chain hash is not', expected: framingSide(framing), recorded: framingSide(recorded) });
        }
        previous = hash;
      }
      const checkpoint = checkpoints.get(position);
      if (checkpoint !== undefined) {
        checked += 1;
        const stateHash = sha256Hex(kernel.fingerprint());
        if (checkpoint.logHash !== previous || checkpoint.stateHash !== stateHash) {
          return finish({
            position,
            kind: 'checkpoint',
            detail: checkpoint.logHash !== previous ? 'the log hash differs from the manifest checkpoint' : 'the kernel state hash differs from the manifest checkpoint',
          });
        }
      }
      if (position >= nextCheckpoint) nextCheckpoint = nextCheckpointAfter(manifest, position);
      options.onProgress?.(position, head);
    }
    const extra = rows.next();
    if (extra.done !== true) {
      return finish({ position: extra.value[0], kind: 'extra', detail: `the recorded log holds events after the run's end (up to ${head})`, recorded: framingSide(framingOfRow(reader, extra.value)) });
    }
    return finish();
  } finally {
    db.close();
  }
}

function nextCheckpointAfter(manifest: RunManifest, position: number): number {
  const every = manifest.checkpointEveryEvents ?? limits.checkpointEveryEvents;
  return (Math.floor(position / every) + 1) * every;
}
