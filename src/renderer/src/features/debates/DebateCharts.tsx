/** The debate view's d3 charts: the influence graph, answers per round, belief trajectories, the consensus meter. */
import { axisBottom, axisLeft, forceCollide, forceLink, forceManyBody, forceSimulation, forceX, forceY, line, scaleBand, scaleLinear, select, type SimulationLinkDatum, type SimulationNodeDatum } from 'd3';
import { useEffect, useMemo, useRef } from 'react';
import { answerColour, formatConfidence, type ConsensusShare, type DebateDecision, type InfluenceEdge, type RoundDistribution, type Trajectory } from './debate-math.ts';

interface GraphNode extends SimulationNodeDatum {
  readonly id: string;
}
type GraphLink = SimulationLinkDatum<GraphNode> & { readonly weight: number };

const graph = { width: 420, height: 300, radius: 20 };

/** Agents as a force-directed graph coloured by final answer; arrows A -> B: B changed its answer to A's. */
export function DebateGraph({ agents, finals, answers, edges, heard }: { agents: readonly string[]; finals: ReadonlyMap<string, string | null>; answers: readonly string[]; edges: readonly InfluenceEdge[]; heard: readonly (readonly [string, string])[] }) {
  const layout = useMemo(() => {
    const nodes: GraphNode[] = agents.map((id, index) => {
      const angle = (2 * Math.PI * index) / Math.max(1, agents.length);
      return { id, x: graph.width / 2 + 100 * Math.cos(angle), y: graph.height / 2 + 100 * Math.sin(angle) };
    });
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const links: GraphLink[] = [
      ...heard.map(([source, target]) => ({ source, target, weight: 0 })),
      ...edges.map((edge) => ({ source: edge.from, target: edge.to, weight: edge.weight })),
    ].filter((link) => byId.has(link.source) && byId.has(link.target));
    const simulation = forceSimulation(nodes)
      .force('link', forceLink<GraphNode, GraphLink>(links).id((node) => node.id).distance(110).strength((link) => (link.weight === 0 ? 0.05 : Math.min(0.6, 0.2 * link.weight))))
      .force('charge', forceManyBody().strength(-260))
      .force('x', forceX(graph.width / 2).strength(0.06))
      .force('y', forceY(graph.height / 2).strength(0.08))
      .force('collide', forceCollide(graph.radius + 6))
      .stop();
    simulation.tick(300);
    const clamp = (value: number | undefined, max: number): number => Math.max(graph.radius + 4, Math.min(max - graph.radius - 4, value ?? max / 2));
    return new Map(nodes.map((node) => [node.id, { x: clamp(node.x, graph.width), y: clamp(node.y, graph.height) }]));
  }, [agents, edges, heard]);
  const maxWeight = Math.max(1, ...edges.map((edge) => edge.weight));
  return (
    <figure className="chart debate-graph" data-testid="debate-graph" data-edges={edges.length}>
      <svg viewBox={`0 0 ${graph.width} ${graph.height}`} role="img" aria-label="influence between agents">
        <defs>
          <marker id="influence-arrow" viewBox="0 0 10 10" refX={10} refY={5} markerWidth={6} markerHeight={6} orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="#8a99a8" />
          </marker>
        </defs>
        {edges.map((edge) => {
          const from = layout.get(edge.from);
          const to = layout.get(edge.to);
          if (from === undefined || to === undefined) return null;
          const dx = to.x - from.x;
          const dy = to.y - from.y;
          const length = Math.max(1, Math.hypot(dx, dy));
          const ux = dx / length;
          const uy = dy / length;
          return (
            <line
              key={`${edge.from}->${edge.to}`}
              className="influence-edge"
              data-testid="debate-edge"
              data-from={edge.from}
              data-to={edge.to}
              data-weight={edge.weight}
              x1={from.x + ux * graph.radius}
              y1={from.y + uy * graph.radius}
              x2={to.x - ux * (graph.radius + 2)}
              y2={to.y - uy * (graph.radius + 2)}
              stroke="#8a99a8"
              strokeOpacity={0.4 + (0.6 * edge.weight) / maxWeight}
              strokeWidth={1 + (3 * edge.weight) / maxWeight}
              markerEnd="url(#influence-arrow)"
            >
              <title>{`${edge.from} swayed ${edge.to} ${edge.weight} ${edge.weight === 1 ? 'time' : 'times'}`}</title>
            </line>
          );
        })}
        {agents.map((agent) => {
          const at = layout.get(agent);
          if (at === undefined) return null;
          const final = finals.get(agent) ?? null;
          return (
            <g key={agent} className="debate-node" data-testid="debate-node" data-agent={agent} data-answer={final ?? ''} transform={`translate(${at.x},${at.y})`}>
              <circle r={graph.radius} fill={answerColour(answers, final)} stroke="#0f1419" strokeWidth={2} />
              <text textAnchor="middle" dy="0.35em" className="node-label">
                {agent}
              </text>
              <title>{`${agent}: ${final ?? 'no answer'}`}</title>
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {answers.map((answer) => (
          <span key={answer} className="legend-item">
            <span className="swatch" style={{ background: answerColour(answers, answer) }} />
            {answer}
          </span>
        ))}
        <span className="legend-item muted">arrow A → B: B changed to A's answer after hearing it</span>
      </figcaption>
    </figure>
  );
}

const bars = { width: 360, height: 200, margin: { top: 16, right: 10, bottom: 26, left: 34 } };

/** Answers per round as stacked bars. */
export function RoundsChart({ distributions, answers }: { distributions: readonly RoundDistribution[]; answers: readonly string[] }) {
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const { x, y } = useMemo(() => {
    const max = Math.max(1, ...distributions.map((item) => item.total));
    return {
      x: scaleBand<number>()
        .domain(distributions.map((item) => item.round))
        .range([bars.margin.left, bars.width - bars.margin.right])
        .padding(0.25),
      y: scaleLinear().domain([0, max]).range([bars.height - bars.margin.bottom, bars.margin.top]),
    };
  }, [distributions]);
  useEffect(() => {
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(x).tickFormat((round) => `round ${round}`));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(y).ticks(Math.min(5, y.domain()[1]!)).tickFormat((value) => String(value)));
  }, [x, y]);
  return (
    <figure className="chart debate-rounds" data-testid="debate-rounds" data-rounds={distributions.length}>
      <svg viewBox={`0 0 ${bars.width} ${bars.height}`} role="img" aria-label="answers per round">
        {distributions.map((distribution) => {
          let stacked = 0;
          return (
            <g key={distribution.round} className="round-bar" data-testid="debate-round" data-round={distribution.round} data-total={distribution.total}>
              {distribution.counts.map(({ answer, count }) => {
                if (count === 0) return null;
                const y0 = stacked;
                stacked += count;
                return (
                  <rect key={answer} x={x(distribution.round)} width={x.bandwidth()} y={y(y0 + count)} height={Math.max(0, y(y0) - y(y0 + count))} fill={answerColour(answers, answer)} data-answer={answer} data-count={count}>
                    <title>{`round ${distribution.round}: ${count} × ${answer}`}</title>
                  </rect>
                );
              })}
            </g>
          );
        })}
        <g ref={xAxisRef} className="axis" transform={`translate(0,${bars.height - bars.margin.bottom})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${bars.margin.left},0)`} />
        <text x={bars.margin.left} y={10} className="axis-label">
          answers per round
        </text>
      </svg>
    </figure>
  );
}

const lines = { width: 360, height: 200, margin: { top: 16, right: 56, bottom: 26, left: 40 } };
const agentPalette = ['#4fa3ff', '#f0883e', '#3fb950', '#d2a8ff', '#e3b341', '#39c5cf', '#ff7b72', '#a5d6ff', '#f85149', '#8b949e'];

/** Each agent's stated confidence per round; a ring marks a round in which its answer changed. */
export function TrajectoryChart({ trajectories, rounds }: { trajectories: readonly Trajectory[]; rounds: number }) {
  const xAxisRef = useRef<SVGGElement>(null);
  const yAxisRef = useRef<SVGGElement>(null);
  const { x, y } = useMemo(
    () => ({
      x: scaleLinear()
        .domain(rounds <= 1 ? [0.5, 1.5] : [1, rounds])
        .range([lines.margin.left, lines.width - lines.margin.right]),
      y: scaleLinear().domain([0, 1]).range([lines.height - lines.margin.bottom, lines.margin.top]),
    }),
    [rounds],
  );
  useEffect(() => {
    if (xAxisRef.current) select(xAxisRef.current).call(axisBottom(x).ticks(Math.max(1, rounds)).tickFormat((value) => (Number.isInteger(value) ? `round ${String(value)}` : '')));
    if (yAxisRef.current) select(yAxisRef.current).call(axisLeft(y).ticks(5).tickFormat((value) => `${Math.round(Number(value) * 100)}%`));
  }, [x, y, rounds]);
  const path = line<{ round: number; confidence: number }>()
    .defined((point) => Number.isFinite(point.confidence))
    .x((point) => x(point.round))
    .y((point) => y(point.confidence));
  return (
    <figure className="chart debate-trajectories" data-testid="debate-trajectories" data-agents={trajectories.length}>
      <svg viewBox={`0 0 ${lines.width} ${lines.height}`} role="img" aria-label="confidence per round">
        {trajectories.map((trajectory, index) => {
          const colour = agentPalette[index % agentPalette.length]!;
          const last = trajectory.points.at(-1);
          return (
            <g key={trajectory.agent} className="trajectory" data-testid="trajectory" data-agent={trajectory.agent} data-changes={trajectory.points.filter((point) => point.changed).length}>
              <path d={path([...trajectory.points]) ?? ''} fill="none" stroke={colour} strokeWidth={1.5} />
              {trajectory.points.map((point) =>
                Number.isFinite(point.confidence) ? (
                  <circle key={point.round} cx={x(point.round)} cy={y(point.confidence)} r={point.changed ? 5 : 2.5} fill={point.changed ? 'none' : colour} stroke={colour} strokeWidth={point.changed ? 2 : 0} data-changed={point.changed}>
                    <title>{`${trajectory.agent}, round ${point.round}: ${point.answer} at ${formatConfidence(point.confidence)}${point.changed ? ' (changed its answer)' : ''}`}</title>
                  </circle>
                ) : null,
              )}
              {last !== undefined && Number.isFinite(last.confidence) ? (
                <text x={x(last.round) + 6} y={y(last.confidence)} dy="0.35em" className="axis-label" fill={colour}>
                  {trajectory.agent}
                </text>
              ) : null}
            </g>
          );
        })}
        <g ref={xAxisRef} className="axis" transform={`translate(0,${lines.height - lines.margin.bottom})`} />
        <g ref={yAxisRef} className="axis" transform={`translate(${lines.margin.left},0)`} />
        <text x={lines.margin.left} y={10} className="axis-label">
          confidence per round (ring: answer changed)
        </text>
      </svg>
    </figure>
  );
}

/** The share of agents agreeing with the plurality answer, per round, and the decision. */
export function ConsensusMeter({ shares, decision, answers }: { shares: readonly ConsensusShare[]; decision: DebateDecision | undefined; answers: readonly string[] }) {
  const last = shares.at(-1);
  return (
    <div className="consensus-meter" data-testid="consensus-meter" data-share={last === undefined ? '' : last.share.toFixed(4)} data-decision={decision?.answer ?? ''}>
      <h3>Consensus</h3>
      <ol className="consensus-rounds">
        {shares.map((share) => (
          <li key={share.round} data-round={share.round} data-share={share.share.toFixed(4)}>
            <span className="muted small">round {share.round}</span>
            <span className="meter" role="meter" aria-valuemin={0} aria-valuemax={1} aria-valuenow={share.share} aria-label={`round ${share.round} agreement`}>
              <span className="meter-fill" style={{ width: `${(share.share * 100).toFixed(1)}%`, background: answerColour(answers, share.answer) }} />
            </span>
            <span className="numeric small">
              {Math.round(share.share * 100)}% {share.answer ?? '—'} ({share.agreeing}/{share.total})
            </span>
          </li>
        ))}
      </ol>
      <p className="small" data-testid="debate-decision">
        {decision === undefined
          ? 'No decision yet.'
          : decision.answer === null
            ? `No decision (${decision.stoppedBy ?? 'no quorum'}).`
            : `Decided ${decision.answer} in round ${decision.round ?? '?'} (${decision.stoppedBy ?? ''}, ${decision.votes ?? '?'} votes of ${decision.liveAgents ?? '?'} live agents): ${decision.correct ? 'correct' : 'wrong'}.`}
      </p>
    </div>
  );
}
