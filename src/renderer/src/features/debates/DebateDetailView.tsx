/** One debate: its question and decision, the influence graph, the charts and the transcript. */
import { useMemo, useState } from 'react';
import { ConsensusMeter, DebateGraph, RoundsChart, TrajectoryChart } from './DebateCharts.tsx';
import { answerColour, answerOrder, consensusShares, describeFault, finalAnswers, formatConfidence, heardPairs, influenceEdges, roundDistributions, trajectories, transcriptRows, type DebateDetail } from './debate-math.ts';

export function DebateDetailView({ detail }: { detail: DebateDetail }) {
  const derived = useMemo(() => {
    const answers = answerOrder(detail);
    const distributions = roundDistributions(detail, answers);
    return {
      answers,
      distributions,
      shares: consensusShares(distributions),
      edges: influenceEdges(detail),
      heard: heardPairs(detail),
      finals: finalAnswers(detail),
      trajectories: trajectories(detail),
    };
  }, [detail]);
  const [agent, setAgent] = useState<string | undefined>(undefined);
  const [round, setRound] = useState<number | undefined>(undefined);
  const rows = useMemo(() => transcriptRows(detail, { agent, round }), [detail, agent, round]);
  return (
    <div className="debate-view" data-testid="debate-view" data-debate-id={detail.debateId} data-stream={detail.stream}>
      <p className="debate-question">
        <strong>{detail.question || detail.debateId}</strong> <span className="muted small">{detail.protocol} · {detail.agents.length} agents · {detail.rounds} {detail.rounds === 1 ? 'round' : 'rounds'}</span>
      </p>
      <div className="debate-charts">
        <DebateGraph agents={detail.agents} finals={derived.finals} answers={derived.answers} edges={derived.edges} heard={derived.heard} />
        <div className="debate-side">
          <ConsensusMeter shares={derived.shares} decision={detail.decision} answers={derived.answers} />
        </div>
        <RoundsChart distributions={derived.distributions} answers={derived.answers} />
        <TrajectoryChart trajectories={derived.trajectories} rounds={detail.rounds} />
      </div>
      <div className="transcript" data-testid="transcript" data-rows={rows.length}>
        <div className="transcript-filters">
          <h3>Transcript</h3>
          <label className="filter-field">
            agent
            <select value={agent ?? ''} onChange={(event) => setAgent(event.target.value === '' ? undefined : event.target.value)} data-testid="transcript-filter-agent">
              <option value="">all agents</option>
              {detail.agents.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <label className="filter-field">
            round
            <select value={round ?? ''} onChange={(event) => setRound(event.target.value === '' ? undefined : Number(event.target.value))} data-testid="transcript-filter-round">
              <option value="">all rounds</option>
              {Array.from({ length: detail.rounds }, (_, index) => index + 1).map((value) => (
                <option key={value} value={value}>
                  round {value}
                </option>
              ))}
            </select>
          </label>
        </div>
        <table className="transcript-table">
          <thead>
            <tr>
              <th>round</th>
              <th>agent</th>
              <th>answer</th>
              <th>confidence</th>
              <th>rationale</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) =>
              row.kind === 'argument' ? (
                <tr key={row.position} data-testid="transcript-row" data-agent={row.argument.agent} data-round={row.argument.round} data-answer={row.argument.answer}>
                  <td className="numeric">{row.argument.round}</td>
                  <td>{row.argument.agent}</td>
                  <td>
                    <span className="swatch" style={{ background: answerColour(derived.answers, row.argument.answer) }} /> {row.argument.answer}
                    {row.argument.to === undefined ? null : <span className="muted small"> to {row.argument.to.join(', ')}</span>}
                  </td>
                  <td className="numeric">{formatConfidence(row.argument.confidence)}</td>
                  <td>
                    {row.argument.rationale}
                    {row.argument.late ? <span className="muted small"> (late)</span> : null}
                    {row.argument.repliesTo.length > 0 ? <span className="muted small"> · heard {row.argument.repliesTo.join(', ')}</span> : null}
                  </td>
                </tr>
              ) : (
                <tr key={row.position} className="transcript-fault" data-testid="transcript-fault" data-kind={row.fault.kind ?? ''}>
                  <td className="numeric">{row.fault.round ?? ''}</td>
                  <td colSpan={4} className="warn">
                    ⚡ {describeFault(row.fault)}
                  </td>
                </tr>
              ),
            )}
          </tbody>
        </table>
        {rows.length === 0 ? <p className="muted small">Nothing matches the filter.</p> : null}
      </div>
    </div>
  );
}
