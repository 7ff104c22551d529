/**
 * What the engine answers about the shared session, built from the session document: the view
 * the UI shows (now, or at a past point of the history), the history as a page of changes, what
 * differs between a past point and now, and the summary of a local run put in the session.
 * Never a document id, never a token.
 */
import { existsSync, readFileSync } from 'node:fs';
import type * as A from '@automerge/automerge';
import { readRunManifest } from '../node/run-manifest.ts';
import { runFiles } from '../node/run-files.ts';
import { sessionCounts, sessionLimits, sessionSections, type RunSummary, type SessionDoc } from '../node/session/session-doc.ts';
import type { HistoryEntry } from '../node/session/session-repo.ts';
import type { ResultOf, SessionChange, SessionDiff, SessionView } from '../shared/api.ts';

const byTimeThenId = (a: { createdAtMs: number; id: string }, b: { createdAtMs: number; id: string }): number => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id);

/** The session as the UI shows it; `hasRun` tells which runs this lab holds. */
export function sessionViewOf(session: SessionDoc, rejected: number, hasRun: (runId: string) => boolean): SessionView {
  return {
    title: session.title,
    counts: sessionCounts(session),
    scenarios: Object.keys(session.scenarios),
    annotations: Object.entries(session.annotations)
      .map(([id, a]) => ({ id, ...a }))
      .sort(byTimeThenId),
    chaosPlans: Object.entries(session.chaosPlans).map(([name, plan]) => ({ name, author: plan.author, updatedAtMs: plan.updatedAtMs, sha256: plan.sha256, chars: plan.text.length })),
    drillNotes: Object.entries(session.drillNotes)
      .map(([id, n]) => ({ id, ...n }))
      .sort(byTimeThenId),
    runs: Object.entries(session.runs).map(([id, r]) => ({
      runId: id,
      scenarioName: r.manifest.scenarioName,
      scenarioSha256: r.manifest.scenarioSha256,
      seed: r.manifest.seed,
      headPosition: r.manifest.headPosition,
      headHash: r.manifest.headHash,
      status: r.manifest.status,
      ...(r.report === undefined ? {} : { verdict: r.report.verdict, summary: r.report.summary }),
      local: hasRun(id),
    })),
    rejected,
  };
}

/** A page of the history, newest first; actors shortened (an actor id is a lab copy's, not a person's). */
export function historyPage(entries: readonly HistoryEntry[], offset: number, limit: number): ResultOf<'session.history'> {
  const total = entries.length;
  const changes: SessionChange[] = [];
  for (let index = total - 1 - offset; index >= 0 && changes.length < limit; index -= 1) {
    const entry = entries[index] as HistoryEntry;
    changes.push({ actor: entry.actor.slice(0, 8), seq: entry.seq, timeMs: entry.timeMs, message: entry.message, heads: [...entry.heads] });
  }
  return { total, changes };
}

/** Keys listed per kind and section; the rest is counted in `more`. */
const diffKeysMax = 200;

/**
 * What differs between the session at a past point and now, per section: the patches from that
 * point name the entries touched, and the two views (valid entries only) say whether each was
 * added, changed or removed. An entry changed and changed back counts as unchanged.
 */
export function sessionDiff(past: SessionDoc, now: SessionDoc, patches: readonly A.Patch[]): SessionDiff {
  const touched = new Map<keyof SessionDoc, Set<string> | 'all'>();
  let titleChanged = false;
  for (const patch of patches) {
    const [section, key] = patch.path;
    if (section === 'title') titleChanged = true;
    if (!(sessionSections as readonly unknown[]).includes(section)) continue;
    const name = section as keyof SessionDoc;
    const keys = touched.get(name);
    if (keys === 'all') continue;
    // A section replaced whole: compare all of it.
    if (typeof key !== 'string') touched.set(name, 'all');
    else touched.set(name, (keys ?? new Set<string>()).add(key));
  }
  const diff = { titleChanged: titleChanged && past.title !== now.title } as SessionDiff;
  for (const section of sessionSections) {
    const before = past[section] as Record<string, unknown>;
    const after = now[section] as Record<string, unknown>;
    const keys = touched.get(section);
    const candidates = keys === undefined ? [] : keys === 'all' ? [...new Set([...Object.keys(before), ...Object.keys(after)])] : [...keys];
    const result = { added: [] as string[], changed: [] as string[], removed: [] as string[], more: 0 };
    for (const key of candidates.sort()) {
      // Own entries only: a key such as `constructor` is a valid entry name, not the prototype's.
      const was = Object.hasOwn(before, key) ? before[key] : undefined;
      const is = Object.hasOwn(after, key) ? after[key] : undefined;
      const kind = was === undefined ? (is === undefined ? undefined : 'added') : is === undefined ? 'removed' : JSON.stringify(was) === JSON.stringify(is) ? undefined : 'changed';
      if (kind === undefined) continue;
      if (result[kind].length < diffKeysMax) result[kind].push(key);
      else result.more += 1;
    }
    diff[section] = result;
  }
  return diff;
}

/** A run's summary for the session: its manifest, and its report in brief (SLOs met or not, alerts). */
export function runSummaryOf(runDir: string): RunSummary {
  const manifest = readRunManifest(runDir);
  const summary: RunSummary = {
    manifest: {
      scenarioName: manifest.scenario.name.slice(0, sessionLimits.keyChars),
      scenarioSha256: manifest.scenario.sha256,
      seed: manifest.seed,
      headPosition: manifest.headPosition,
      headHash: manifest.headHash,
      status: manifest.status,
    },
  };
  const report = readReport(runFiles.report(runDir));
  return report === undefined ? summary : { ...summary, report };
}

interface ReportFile {
  readonly virtualSeconds?: unknown;
  readonly peakEventsPerVirtualSecond?: unknown;
  readonly slos?: readonly { readonly name?: unknown; readonly met?: unknown; readonly value?: unknown }[];
  readonly alerts?: readonly unknown[];
  readonly faults?: readonly unknown[];
}

function readReport(file: string): RunSummary['report'] {
  if (!existsSync(file)) return undefined;
  let report: ReportFile;
  try {
    report = JSON.parse(readFileSync(file, 'utf8')) as ReportFile;
  } catch {
    return undefined;
  }
  const slos = Array.isArray(report.slos) ? report.slos : [];
  const missed = slos.filter((slo) => slo.met === false).length;
  const verdict = slos.length === 0 ? 'no SLOs' : missed === 0 ? 'SLOs met' : `${missed} SLOs missed`;
  const parts: string[] = [];
  if (typeof report.virtualSeconds === 'number') parts.push(`${report.virtualSeconds} virtual s`);
  if (typeof report.peakEventsPerVirtualSecond === 'number') parts.push(`peak ${report.peakEventsPerVirtualSecond} events/virtual s`);
  for (const slo of slos) if (typeof slo.name === 'string') parts.push(`${slo.name} ${typeof slo.value === 'number' ? Number(slo.value.toFixed(3)) : '–'} (${slo.met === true ? 'met' : slo.met === false ? 'missed' : 'no data'})`);
  if (Array.isArray(report.alerts)) parts.push(`${report.alerts.length} alerts`);
  if (Array.isArray(report.faults) && report.faults.length > 0) parts.push(`${report.faults.length} faults`);
  return { verdict, summary: parts.join(' · ').slice(0, sessionLimits.summaryChars) };
}
