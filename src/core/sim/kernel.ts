/**
 * The run kernel: a discrete-event scheduler on a virtual clock. It decides which events happen
 * and when; the shell appends them, paces them against the wall clock and projects them.
 * Pure and deterministic: the same scenario and seed give the same events, ids included.
 */
import { asEventId, type EventId } from '../kernel/ids.ts';
import { createRandom, type Random } from '../kernel/random.ts';
import { runStream, type NewEvent } from '../events/event.ts';
import type { StreamName } from '../kernel/ids.ts';
import { rateToDocument, type Scenario } from './scenario.ts';
import { applySet, operatorEventTypes, type OperatorAction, type RecordedAction } from './operator.ts';
import { canonicalJson } from '../kernel/canonical.ts';
import { AuraError } from '../kernel/errors.ts';
import { alertEventTypes, AlertEvaluator, isLatencyRule, RequestCounter } from './telemetry.ts';
import { DebateCursor } from './debates.ts';
import { asStreamName } from '../kernel/ids.ts';

/** Alerts on the log's own metrics are events of this stream. */
export const alertStream = asStreamName('$alerts');
import { GeneratorCursor } from './workload.ts';

export interface PlannedEvent {
  readonly stream: StreamName;
  readonly event: NewEvent;
}

export type KernelPhase = 'not_started' | 'running' | 'completed';

export class RunKernel {
  readonly durationUs: number;
  private phase: KernelPhase = 'not_started';
  private readonly cursors: GeneratorCursor[];
  private readonly idRandom: Random;
  private workloadEvents = 0;
  private sequence = 0;
  private clockUs = 0;
  private lastEventUs = 0;
  private current: Scenario;
  private readonly recorded: readonly RecordedAction[];
  private nextRecorded = 0;
  private readonly acted: RecordedAction[] = [];
  /** Alert rules on the log's own metrics (undefined when the scenario has none). */
  private readonly alerts: AlertEvaluator | undefined;
  private readonly requests: RequestCounter;
  /** Events decided together (a debate's, a closed second's alerts), emitted one at a time. */
  private readonly queue: { stream: StreamName; type: string; atUs: number; payload: NewEvent['payload'] }[] = [];
  private readonly debates: DebateCursor[];
  private openSecond = 0;
  private eventsThisSecond = 0;

  /**
   * @param recorded operator actions of a recorded run (or a fork's), applied at their
   *   sequence numbers: given the same actions, the kernel plans the same events.
   */
  constructor(
    readonly scenario: Scenario,
    readonly seed: number,
    recorded: readonly RecordedAction[] = [],
  ) {
    this.current = scenario;
    const logicalRules = (scenario.alerts ?? []).filter((rule) => !isLatencyRule(rule));
    this.alerts = logicalRules.length > 0 ? new AlertEvaluator(logicalRules, scenario.slos ?? []) : undefined;
    this.requests = new RequestCounter(this.alerts === undefined ? [] : (scenario.slos ?? []));
    this.recorded = [...recorded].sort((a, b) => a.sequence - b.sequence);
    this.durationUs = scenario.duration;
    const root = createRandom(seed);
    const workload = root.split('workload');
    this.cursors = scenario.workload.map((spec) => new GeneratorCursor(spec, workload.split(spec.name)));
    this.idRandom = root.split('event-ids');
    const debates = root.split('debates');
    this.debates = (scenario.debates ?? []).map((schedule) => new DebateCursor(schedule, debates.split(schedule.name)));
  }

  get status(): KernelPhase {
    return this.phase;
  }

  /** Virtual time reached, in microseconds. */
  get virtualTimeUs(): number {
    return this.clockUs;
  }

  get workloadEventCount(): number {
    return this.workloadEvents;
  }

  /** Events planned so far (the next event's sequence number; its position is this + 1). */
  get plannedEvents(): number {
    return this.sequence;
  }

  /** The scenario as the operator's changes have left it. */
  get currentScenario(): Scenario {
    return this.current;
  }

  /** Every operator action applied so far, replayed or live, in order. */
  get actions(): readonly RecordedAction[] {
    return this.acted;
  }

  /**
   * The kernel's logical state (what decides every later event), as canonical text for state
   * hashes at checkpoints. Wall-clock pacing is not in it.
   */
  fingerprint(): string {
    return canonicalJson({
      sequence: this.sequence,
      lastEventUs: this.lastEventUs,
      workloadEvents: this.workloadEvents,
      phase: this.phase,
      generators: this.cursors.map((cursor) => cursor.fingerprint()),
      actions: this.acted.length,
      queue: this.queue.length,
      ...(this.debates.length === 0 ? {} : { debates: this.debates.map((cursor) => cursor.fingerprint()) }),
      ...(this.alerts === undefined ? {} : { alerts: this.alerts.fingerprint(), openSecond: this.openSecond }),
    });
  }

  /**
   * An operator action on the live run, now: applied at the current sequence number and virtual
   * time, and planned as an event for the shell to append. Throws AuraError('validation') for a
   * bad change and AuraError('conflict') once the run has completed; nothing changes then.
   */
  act(action: OperatorAction): PlannedEvent[] {
    if (this.phase === 'completed') throw new AuraError('conflict', 'the run has completed');
    if (this.nextRecorded < this.recorded.length) throw new AuraError('conflict', 'the run is replaying recorded actions');
    if (action.kind === 'set') applySet(this.current, action.path, action.value);
    const planned: PlannedEvent[] = [];
    if (this.phase === 'not_started') this.start(planned);
    planned.push(this.apply({ sequence: this.sequence, virtualTimeUs: this.clockUs, action }));
    return planned;
  }
  /**
   * Advances virtual time to `untilUs` (inclusive), returning the events that happen, at most
   * `maxEvents` of them; call again for the rest. Lifecycle events open and close the run.
   */
  advance(untilUs: number, maxEvents: number): PlannedEvent[] {
    const planned: PlannedEvent[] = [];
    if (this.phase === 'completed') return planned;
    if (this.phase === 'not_started') this.start(planned);
    const limitUs = Math.min(untilUs, this.durationUs);
    while (planned.length < maxEvents) {
      const due = this.recorded[this.nextRecorded];
      if (due !== undefined && due.sequence === this.sequence) {
        this.nextRecorded += 1;
        planned.push(this.apply(due));
        continue;
      }
      const queued = this.queue.shift();
      if (queued !== undefined) {
        this.clockUs = Math.max(this.clockUs, queued.atUs);
        planned.push(this.plan(queued.stream, queued.type, queued.atUs, queued.payload));
        continue;
      }
      let best: GeneratorCursor | undefined;
      let bestTime = Number.POSITIVE_INFINITY;
      for (const cursor of this.cursors) {
        const time = cursor.nextTimeUs();
        if (time < bestTime) {
          best = cursor;
          bestTime = time;
        }
      }
      let debate: DebateCursor | undefined;
      let debateTime = Number.POSITIVE_INFINITY;
      for (const cursor of this.debates) {
        const time = cursor.nextTimeUs();
        if (time < debateTime) {
          debate = cursor;
          debateTime = time;
        }
      }
      const nextUs = Math.min(bestTime, debateTime);
      // A virtual second closes (its alert rules are evaluated) before the first event after it.
      if (this.alerts !== undefined && this.closeSecondBefore(nextUs < this.durationUs ? nextUs : untilUs >= this.durationUs ? this.durationUs : -1)) continue;
      if (debate !== undefined && debateTime <= bestTime && debateTime < this.durationUs && debateTime <= limitUs) {
        const occurrence = debate.next();
        for (const event of occurrence.events) this.queue.push({ stream: occurrence.stream, type: event.type, atUs: occurrence.atUs, payload: event.payload });
        this.workloadEvents += occurrence.events.length;
        this.eventsThisSecond += occurrence.events.length;
        this.lastEventUs = occurrence.atUs;
        continue;
      }
      if (best === undefined || bestTime >= this.durationUs || bestTime > limitUs) break;
      const generated = best.next();
      this.workloadEvents += 1;
      this.eventsThisSecond += 1;
      this.requests.observe(generated.type, generated.payload);
      this.clockUs = generated.virtualTimeUs;
      this.lastEventUs = generated.virtualTimeUs;
      planned.push({
        stream: generated.stream,
        event: {
          id: this.nextId(),
          type: generated.type,
          schemaVersion: generated.schemaVersion,
          payload: generated.payload,
          metadata: { virtualTimeUs: generated.virtualTimeUs },
        },
      });
    }
    if (planned.length < maxEvents) {
      this.clockUs = Math.max(this.clockUs, limitUs);
      if (untilUs >= this.durationUs) {
        this.phase = 'completed';
        this.clockUs = this.durationUs;
        planned.push(this.plan(runStream, 'RunCompleted', this.durationUs, { workloadEvents: this.workloadEvents }));
      }
    }
    return planned;
  }

  /** Closes the open virtual second if it ends at or before `horizonUs` (the run's end closes a partial one). */
  private closeSecondBefore(horizonUs: number): boolean {
    const startUs = this.openSecond * 1_000_000;
    const endUs = startUs + 1_000_000;
    const closes = endUs <= horizonUs || (horizonUs === this.durationUs && startUs < this.durationUs);
    if (!closes || this.alerts === undefined) return false;
    const transitions = this.alerts.observe({ second: this.openSecond, events: this.eventsThisSecond, requests: this.requests.take() });
    this.openSecond += 1;
    this.eventsThisSecond = 0;
    for (const transition of transitions) {
      this.queue.push({
        stream: alertStream,
        type: transition.state === 'fired' ? alertEventTypes.fired : alertEventTypes.resolved,
        atUs: Math.min(transition.atUs, this.durationUs),
        payload: { rule: transition.rule, kind: transition.kind, value: transition.value, detail: transition.detail },
      });
    }
    return true;
  }

  private start(planned: PlannedEvent[]): void {
    this.phase = 'running';
    planned.push(
      this.plan(runStream, 'RunStarted', 0, {
        scenario: this.scenario.name,
        seed: this.seed,
        durationUs: this.durationUs,
        generators: this.scenario.workload.map((spec) => spec.name),
      }),
    );
  }

  private apply(recorded: RecordedAction): PlannedEvent {
    const { action } = recorded;
    let payload: NewEvent['payload'] = {};
    if (action.kind === 'set') {
      const { scenario, change } = applySet(this.current, action.path, action.value);
      this.current = scenario;
      const cursor = this.cursors.find((item) => item.spec.name === change.generator);
      cursor?.changeRate(change.rate, recorded.virtualTimeUs);
      payload = { path: action.path, value: action.value, generator: change.generator, rate: rateToDocument(change.rate), previous: rateToDocument(change.previous) };
    }
    this.acted.push(recorded);
    this.clockUs = Math.max(this.clockUs, recorded.virtualTimeUs);
    return this.plan(runStream, operatorEventTypes[action.kind], recorded.virtualTimeUs, payload);
  }

  private plan(stream: StreamName, type: string, virtualTimeUs: number, payload: NewEvent['payload']): PlannedEvent {
    return { stream, event: { id: this.nextId(), type, schemaVersion: 1, payload, metadata: { virtualTimeUs } } };
  }

  /**
   * Event ids are 128 bits: the event's sequence number in the run (64 bits, big-endian) and 64
   * bits from the run's PRNG. Deterministic like everything else, and increasing, so that the
   * store's id index grows at its end instead of at random places (about 2x faster appends).
   */
  private nextId(): EventId {
    const sequence = this.sequence++;
    const high = Math.floor(sequence / 4294967296);
    const low = sequence >>> 0;
    return asEventId(
      high.toString(16).padStart(8, '0') +
        low.toString(16).padStart(8, '0') +
        this.idRandom.nextUint32().toString(16).padStart(8, '0') +
        this.idRandom.nextUint32().toString(16).padStart(8, '0'),
    );
  }
}
