/**
 * The drill console: pick a drill, its mode (automatic recovery or a game day) and seed, and
 * start it; then its clock, stage, timeline and hints as they come, in a game day the runbook as
 * buttons (all of them: the trainee decides which one the moment calls for), and at the end the
 * scorecard: the verdict, the score, each target against the lab's and the seed's, the anomalies.
 */
import { useEffect, useState } from 'react';
import { drillRunbookActions, type DrillRunbookAction, type DrillState } from '../../../../shared/api.ts';
import type { DrillsCommands } from '../../engine/drills-bridge.ts';
import { drillsActions } from '../../state/drills-store.ts';
import { useDrills } from '../../state/use-drills.ts';
import { formatAt, formatElapsed, formatFigure, formatMeasurements, formatTarget, hintsOf, modeLabel, statusLabel, targetMark } from './drill-format.ts';

/** Re-renders every `periodMs` while active (the console's clock). */
function useTicker(active: boolean, periodMs = 100): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return undefined;
    const timer = setInterval(() => setNow(performance.now()), periodMs);
    return () => clearInterval(timer);
  }, [active, periodMs]);
  return now;
}

const isRunbookAction = (action: string): action is DrillRunbookAction => (drillRunbookActions as readonly string[]).includes(action);

export function DrillConsole({ commands }: { commands: DrillsCommands }) {
  const drills = useDrills((state) => state.drills);
  const form = useDrills((state) => state.form);
  const starting = useDrills((state) => state.starting);
  const error = useDrills((state) => state.error);
  const order = useDrills((state) => state.order);
  const states = useDrills((state) => state.states);
  const currentId = useDrills((state) => state.currentId);
  const current = currentId === undefined ? undefined : states[currentId];
  const anyRunning = Object.values(states).some((drill) => drill.status === 'running');
  const list = drills.state === 'loaded' ? drills.data : [];
  const selected = list.find((item) => item.drill === form.drill);
  return (
    <section className="panel drill-console" aria-label="drill console" data-testid="drill-console">
      <header className="view-header">
        <h2>Drills</h2>
        <span className="muted small">disaster-recovery drills, timed and scored against the lab's targets</span>
      </header>
      {drills.state === 'error' ? (
        <p className="error" data-testid="drills-error">
          {drills.message}
        </p>
      ) : null}
      {drills.state === 'loading' ? <p className="muted small">Asking the engine…</p> : null}
      <form
        className="drill-form"
        onSubmit={(event) => {
          event.preventDefault();
          void commands.start();
        }}
      >
        <label className="filter-field">
          Drill
          <select aria-label="Drill" data-testid="drill-select" value={form.drill ?? ''} onChange={(event) => drillsActions.setForm({ drill: event.target.value })} disabled={list.length === 0}>
            {list.map((item) => (
              <option key={item.drill} value={item.drill}>
                {item.title}
              </option>
            ))}
          </select>
        </label>
        <label className="filter-field">
          Mode
          <select aria-label="Mode" data-testid="drill-mode" value={form.mode} onChange={(event) => drillsActions.setForm({ mode: event.target.value === 'trainer' ? 'trainer' : 'auto' })}>
            <option value="auto">automatic recovery</option>
            <option value="trainer">game day (you recover)</option>
          </select>
        </label>
        <label className="filter-field">
          Seed
          <input aria-label="Seed" data-testid="drill-seed" className="drill-seed" inputMode="numeric" placeholder={selected === undefined ? 'seed' : `${selected.seed} (the drill's)`} value={form.seed} onChange={(event) => drillsActions.setForm({ seed: event.target.value })} />
        </label>
        <button type="submit" className="drill-start" aria-label="Start drill" data-testid="drill-start" disabled={selected === undefined || starting || anyRunning}>
          {starting ? 'Starting…' : 'Start'}
        </button>
        {order.length > 1 ? (
          <label className="filter-field drill-recent">
            This session
            <select aria-label="Drills of this session" data-testid="drill-recent" value={currentId ?? ''} onChange={(event) => void commands.open(event.target.value)}>
              {order.map((drillId) => {
                const drill = states[drillId];
                return (
                  <option key={drillId} value={drillId}>
                    {drill === undefined ? drillId : `${drill.title} (${modeLabel(drill.mode)}, seed ${drill.seed}): ${statusLabel(drill.status)}`}
                  </option>
                );
              })}
            </select>
          </label>
        ) : null}
      </form>
      {error === undefined ? null : (
        <p className="error" role="alert" data-testid="drill-start-error">
          {error}
        </p>
      )}
      {selected === undefined ? null : (
        <div className="drill-about" data-testid="drill-about">
          <p className="small">{selected.description}</p>
          <p className="muted small">
            Targets:{' '}
            {selected.targets.map((target, index) => (
              <span key={target.metric}>
                {index > 0 ? '; ' : ''}
                {target.label} {formatTarget(target.comparison, target.unit, target.lab)}
                {target.seed === null ? '' : ` (seed ${formatTarget(target.comparison, target.unit, target.seed)})`}
              </span>
            ))}
            . Runbook: {selected.runbook.join(', ')}.
          </p>
        </div>
      )}
      {current === undefined ? null : <DrillLive key={current.drillId} drill={current} commands={commands} />}
    </section>
  );
}

function DrillLive({ drill, commands }: { drill: DrillState; commands: DrillsCommands }) {
  const running = drill.status === 'running';
  const receivedAt = useDrills((state) => state.receivedAt[drill.drillId] ?? 0);
  const taken = useDrills((state) => state.taken[drill.drillId]);
  const now = useTicker(running);
  const elapsed = running ? drill.elapsedMs + Math.max(0, now - receivedAt) : drill.elapsedMs;
  const hints = hintsOf(drill.timeline);
  const percent = Math.round(drill.fraction * 100);
  return (
    <div className="drill-live" data-testid="drill-live" data-drill-id={drill.drillId} data-drill={drill.drill} data-status={drill.status} data-mode={drill.mode}>
      <div className="drill-live-header">
        <div>
          <h3>{drill.title}</h3>
          <span className="muted small">
            {modeLabel(drill.mode)}, seed {drill.seed} · <code>{drill.drillId}</code>
          </span>
        </div>
        <span className={`status drill-status-${drill.status}`} data-testid="drill-status" data-status={drill.status}>
          {running ? 'running' : statusLabel(drill.status)}
        </span>
        <span className="drill-timer numeric" role="timer" aria-label="elapsed" data-testid="drill-timer" data-elapsed-ms={Math.round(elapsed)}>
          {formatElapsed(elapsed)}
        </span>
      </div>
      <div className="drill-stage">
        <span className="small" data-testid="drill-stage">
          {drill.stage}
        </span>
        <div className="progress" role="progressbar" aria-label="drill progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${drill.stage}, ${percent}%`}>
          <div className="progress-fill" style={{ width: `${percent}%` }} />
        </div>
      </div>
      {drill.status === 'error' ? (
        <p className="error" role="alert" data-testid="drill-error">
          The drill ended in an error: {drill.error ?? 'unknown'}
        </p>
      ) : null}
      {drill.mode === 'trainer' ? (
        <div className="drill-gameday">
          <div className="drill-runbook" data-testid="drill-runbook">
            <h4>Runbook</h4>
            <p className="muted small">Nothing recovers by itself. Read the symptoms and act.</p>
            <ul aria-label="runbook">
              {drill.runbook.filter(isRunbookAction).map((action) => {
                const done = (taken ?? []).filter((item) => item.action === action);
                return (
                  <li key={action} className={done.length > 0 ? 'runbook-step taken' : 'runbook-step'}>
                    <span className="runbook-check" aria-hidden="true">
                      {done.length > 0 ? '☑' : '☐'}
                    </span>
                    <button type="button" aria-label={action} data-testid="runbook-action" data-action={action} disabled={!running} onClick={() => void commands.action(action)}>
                      {action}
                    </button>
                    {done.length > 0 ? <span className="muted small">taken {done.length === 1 ? 'once' : `${done.length} times`}</span> : null}
                  </li>
                );
              })}
            </ul>
            {running ? (
              <button type="button" className="small-button" aria-label="Give up" data-testid="drill-abort" onClick={() => void commands.abort()}>
                Give up
              </button>
            ) : null}
          </div>
          <div className="drill-hints" data-testid="drill-hints" role="status" aria-label="hints">
            <h4>Hints</h4>
            {hints.length === 0 ? <p className="muted small">None yet.</p> : null}
            <ul>
              {hints.map((hint) => (
                <li key={`${hint.atMs}-${hint.text}`} data-testid="drill-hint">
                  <span className="muted small numeric">{formatAt(hint.atMs)}</span> {hint.text}
                </li>
              ))}
            </ul>
          </div>
        </div>
      ) : null}
      <h4>Timeline</h4>
      <ol className="drill-timeline" aria-label="timeline" data-testid="drill-timeline" data-count={drill.timeline.length}>
        {drill.timeline.map((entry, index) => (
          <li key={index} data-testid="drill-timeline-entry" data-kind={entry.kind} data-hidden={entry.hidden === true ? 'true' : 'false'} className={entry.hidden === true ? 'revealed' : undefined}>
            <span className="numeric muted small">{formatAt(entry.atMs)}</span>
            <span className={`kind-badge kind-${entry.kind}`}>{entry.kind}</span>
            <span className="small">
              {entry.text}
              {entry.hidden === true ? <em className="muted"> (hidden during the drill)</em> : null}
            </span>
          </li>
        ))}
      </ol>
      {drill.scorecard === null ? null : <Scorecard drill={drill} />}
    </div>
  );
}

export function Scorecard({ drill }: { drill: DrillState }) {
  const card = drill.scorecard;
  if (card === null) return null;
  const anomalies = Object.entries(drill.checks?.anomalies ?? {}).filter(([, count]) => count > 0);
  const total = anomalies.reduce((sum, [, count]) => sum + count, 0);
  return (
    <div className="drill-scorecard" data-testid="drill-scorecard" data-passed={String(card.passed)} data-score={card.score} aria-label="scorecard">
      <div className={card.passed ? 'drill-verdict passed' : 'drill-verdict failed'} role="status" data-testid="drill-verdict">
        <strong>{card.passed ? 'PASSED' : 'FAILED'}</strong>
        <span>
          score <span data-testid="drill-score">{card.score}</span> / 100
        </span>
        <span className="small">{card.passed ? 'every lab target met' : 'lab targets missed'}</span>
      </div>
      <table className="seek-table scorecard-table">
        <thead>
          <tr>
            <th>figure</th>
            <th className="numeric">value</th>
            <th>lab target</th>
            <th>seed target</th>
            <th>result</th>
          </tr>
        </thead>
        <tbody>
          {card.targets.map((target) => {
            const mark = targetMark(target);
            return (
              <tr key={target.metric} data-testid="scorecard-row" data-metric={target.metric} data-met={String(target.metLab)} data-value={target.value ?? ''} className={`target-${mark.replace(' ', '-')}`}>
                <td>{target.label}</td>
                <td className="numeric">{formatFigure(target.unit, target.value)}</td>
                <td>{formatTarget(target.comparison, target.unit, target.lab)}</td>
                <td>{formatTarget(target.comparison, target.unit, target.seed)}</td>
                <td className="target-mark">{mark}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <p className="muted small" data-testid="drill-measurements">
        Measured: {formatMeasurements(card.measurements).join(', ')}.
      </p>
      <div className="drill-anomalies" data-testid="drill-anomalies" data-total={total}>
        <h4>Checkers</h4>
        {anomalies.length === 0 ? <p className="small compare-equal">No anomaly in any class.</p> : null}
        <ul>
          {anomalies.map(([name, count]) => (
            <li key={name} data-testid="drill-anomaly" data-class={name} data-count={count} className="error small">
              {name}: {count}
            </li>
          ))}
          {(drill.checks?.results ?? []).map((check) => (
            <li key={check.check} className={check.ok ? 'small muted' : 'small error'}>
              {check.ok ? 'ok' : 'FAILED'}: {check.check} ({check.checked.toLocaleString('en-US')} checked{check.anomalies > 0 ? `, ${check.anomalies} anomalies` : ''})
            </li>
          ))}
        </ul>
      </div>
    </div>
  );
}
