import { useLab } from '../../state/use-lab.ts';

/** Tells the truth about the engine: connected, restarting, or unreachable. */
export function EngineStatusBadge() {
  const link = useLab((state) => state.link);
  const engine = useLab((state) => state.engine);
  let label: string;
  let tone: 'ok' | 'warn' | 'bad';
  if (link !== 'open') {
    label = link === 'connecting' ? 'connecting to engine…' : 'disconnected: reconnecting…';
    tone = 'bad';
  } else if (engine.state === 'ready') {
    label = 'engine ready';
    tone = 'ok';
  } else if (engine.state === 'restarting') {
    label = 'engine restarting…';
    tone = 'warn';
  } else {
    label = `engine ${engine.state}`;
    tone = engine.state === 'stopped' ? 'bad' : 'warn';
  }
  return (
    <div className={`badge badge-${tone}`} data-testid="engine-status" data-state={link === 'open' ? engine.state : link} data-pid={engine.pid ?? ''} title={engine.reason ?? ''}>
      <span className="dot" />
      {label}
      {engine.restarts > 0 ? <span className="muted"> · restarts: {engine.restarts}</span> : null}
    </div>
  );
}
