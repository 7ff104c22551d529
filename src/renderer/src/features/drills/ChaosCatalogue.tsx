/**
 * The chaos catalogue: every fault the lab can inject, by layer, with how it is made real and the
 * runbook action that recovers from it; and "Inject now", a fault into a live run.
 */
import { useDrills } from '../../state/use-drills.ts';
import { groupByLayer } from './drill-format.ts';
import { InjectNow } from './InjectNow.tsx';

export function ChaosCatalogue() {
  const catalogue = useDrills((state) => state.catalogue);
  return (
    <section className="panel chaos-catalogue" aria-label="chaos catalogue" data-testid="chaos-catalogue" data-count={catalogue.state === 'loaded' ? catalogue.data.length : ''}>
      <header className="view-header">
        <h2>Chaos catalogue</h2>
        <span className="muted small">the faults the lab injects, and what recovers from each</span>
      </header>
      <InjectNow />
      {catalogue.state === 'error' ? <p className="error">{catalogue.message}</p> : null}
      {catalogue.state === 'loading' || catalogue.state === 'idle' ? <p className="muted small">Asking the engine…</p> : null}
      {catalogue.state === 'loaded' ? (
        <table className="seek-table chaos-table">
          <thead>
            <tr>
              <th>fault</th>
              <th>what it does</th>
              <th>how the lab makes it real</th>
              <th>recovery</th>
            </tr>
          </thead>
          {groupByLayer(catalogue.data).map((group) => (
            <tbody key={group.layer} data-testid="chaos-layer" data-layer={group.layer} aria-label={`${group.layer} faults`}>
              <tr className="chaos-layer-row">
                <th colSpan={4} scope="rowgroup">
                  {group.layer}
                </th>
              </tr>
              {group.faults.map((fault) => (
                <tr key={fault.kind} data-testid="chaos-fault" data-kind={fault.kind}>
                  <td>
                    <code>{fault.kind}</code>
                  </td>
                  <td>{fault.title}</td>
                  <td className="muted">{fault.mechanism}</td>
                  <td>
                    <code>{fault.recovery}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          ))}
        </table>
      ) : null}
    </section>
  );
}
