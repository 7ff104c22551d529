/**
 * The debrief of a drill, as Markdown and as a standalone HTML page: the scorecard (each target
 * against the lab's and the seed's), the timeline of faults, symptoms, alerts and actions (the
 * hidden faults revealed), the checkers' anomalies by class, and an SVG timeline strip.
 */
import type { TargetResult } from '../../core/chaos/drill.ts';
import type { DrillReport } from './run-drill.ts';

export function formatTarget(target: TargetResult, value: number | null = target.value): string {
  if (value === null || !Number.isFinite(value)) return value === null ? '-' : 'never';
  if (target.unit === 'ms') return value >= 10_000 ? `${(value / 1_000).toFixed(1)} s` : `${Math.round(value)} ms`;
  if (target.unit === 'ratio') return `${(value * 100).toFixed(1)}%`;
  return Math.round(value).toLocaleString('en-US');
}

function mark(target: TargetResult): string {
  return target.metLab ? 'met' : target.metSeed ? 'seed only' : 'missed';
}

function clock(ms: number): string {
  return `${(ms / 1_000).toFixed(2)} s`;
}

export function debriefMarkdown(report: DrillReport): string {
  const card = report.scorecard;
  const lines = [
    `# Debrief: ${report.title}`,
    '',
    `Drill \`${report.drill}\`, ${report.mode === 'trainer' ? 'game day' : 'automatic recovery'}, seed ${report.seed}, ${clock(report.wallMs)}.`,
    '',
    `**Score ${card.score} / 100: ${card.passed ? 'every lab target met' : 'lab targets missed'}.**`,
    '',
    '| figure | value | lab target | seed target | result |',
    '| --- | --- | --- | --- | --- |',
    ...card.targets.map((target) => `| ${target.label} | ${formatTarget(target)} | ${target.comparison} ${formatTarget(target, target.lab)} | ${target.seed === null ? '-' : `${target.comparison} ${formatTarget(target, target.seed)}`} | ${mark(target)} |`),
    '',
    '## Measurements',
    '',
    ...Object.entries(card.measurements).map(([name, value]) => `- ${name}: ${typeof value === 'number' && Number.isFinite(value) ? Math.round(value * 1000) / 1000 : String(value)}`),
    '',
    '## Timeline',
    '',
    '| at | kind | what |',
    '| --- | --- | --- |',
    ...report.timeline.map((entry) => `| ${clock(entry.atMs)} | ${entry.kind}${entry.hidden === true ? ' (hidden)' : ''} | ${entry.text.replaceAll('|', '\\|')} |`),
    '',
    '## Checkers',
    '',
    ...report.checks.checks.map((check) => `- ${check.ok ? 'ok' : 'FAILED'}: ${check.check} (${check.checked.toLocaleString('en-US')} checked${check.anomalies.length > 0 ? `, ${check.anomalies.length} anomalies` : ''})`),
    ...Object.entries(report.checks.anomalies).flatMap(([name, count]) => [`- ${name}: ${count.count}`, ...count.examples.map((example) => `  - ${example.detail}`)]),
    '',
  ];
  return lines.join('\n');
}

const escape = (text: string): string => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

const kindColours: Record<string, string> = { fault: '#d1495b', symptom: '#edae49', alert: '#edae49', action: '#00798c', detected: '#30638e', recovered: '#3b8e47', check: '#6c757d', hint: '#8e6c8a', note: '#adb5bd' };

function timelineSvg(report: DrillReport): string {
  const width = 760;
  const end = Math.max(1, report.wallMs);
  const x = (ms: number): number => 20 + (ms / end) * (width - 40);
  const marks = report.timeline
    .filter((entry) => entry.kind !== 'note')
    .map((entry) => `<g><line x1="${x(entry.atMs).toFixed(1)}" x2="${x(entry.atMs).toFixed(1)}" y1="10" y2="50" stroke="${kindColours[entry.kind] ?? '#333'}" stroke-width="3"><title>${escape(`${clock(entry.atMs)} ${entry.kind}: ${entry.text}`)}</title></line></g>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="70" role="img" aria-label="timeline"><line x1="20" x2="${width - 20}" y1="30" y2="30" stroke="#999"/>${marks}<text x="20" y="66" font-size="11">0 s</text><text x="${width - 20}" y="66" font-size="11" text-anchor="end">${clock(end)}</text></svg>`;
}

export function debriefHtml(report: DrillReport): string {
  const card = report.scorecard;
  const rows = card.targets
    .map((target) => `<tr class="${target.metLab ? 'met' : 'missed'}"><td>${escape(target.label)}</td><td>${escape(formatTarget(target))}</td><td>${target.comparison} ${escape(formatTarget(target, target.lab))}</td><td>${target.seed === null ? '-' : `${target.comparison} ${escape(formatTarget(target, target.seed))}`}</td><td>${mark(target)}</td></tr>`)
    .join('');
  const timeline = report.timeline.map((entry) => `<tr><td>${clock(entry.atMs)}</td><td><span class="kind" style="background:${kindColours[entry.kind] ?? '#333'}">${entry.kind}</span>${entry.hidden === true ? ' (hidden)' : ''}</td><td>${escape(entry.text)}</td></tr>`).join('');
  const checks = report.checks.checks.map((check) => `<li class="${check.ok ? 'met' : 'missed'}">${check.ok ? 'ok' : 'FAILED'}: ${escape(check.check)} (${check.checked.toLocaleString('en-US')} checked)</li>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Debrief: ${escape(report.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}.met td:last-child,li.met{color:#2b7a3d}.missed td:last-child,li.missed{color:#b3261e;font-weight:600}.kind{color:#fff;border-radius:3px;padding:0 4px}</style>
</head><body>
<h1>Debrief: ${escape(report.title)}</h1>
<p>Drill <code>${escape(report.drill)}</code>, ${report.mode === 'trainer' ? 'game day' : 'automatic recovery'}, seed ${report.seed}, ${clock(report.wallMs)}.</p>
<p><strong>Score ${card.score} / 100: ${card.passed ? 'every lab target met' : 'lab targets missed'}.</strong></p>
<table><thead><tr><th>figure</th><th>value</th><th>lab target</th><th>seed target</th><th>result</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Timeline</h2>
${timelineSvg(report)}
<table><thead><tr><th>at</th><th>kind</th><th>what</th></tr></thead><tbody>${timeline}</tbody></table>
<h2>Checkers</h2><ul>${checks}</ul>
</body></html>
`;
}
