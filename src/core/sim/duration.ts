/** Durations in scenario files: "250ms", "30s", "10m", "1h", or combinations like "1h30m". */
const unitUs: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };
const durationPattern = /^(?:\d+(?:\.\d+)?(?:us|ms|s|m|h))+$/;
const partPattern = /(\d+(?:\.\d+)?)(us|ms|s|m|h)/g;

/** Parses a duration into whole microseconds, or returns an error message. */
export function parseDurationUs(text: string, allowZero = false): number | { error: string } {
  const trimmed = text.trim();
  if (!durationPattern.test(trimmed)) {
    return { error: `expected a duration such as 500ms, 30s, 10m or 1h30m, got ${JSON.stringify(text)}` };
  }
  let total = 0;
  for (const match of trimmed.matchAll(partPattern)) {
    const amount = Number(match[1]);
    const unit = unitUs[match[2] as string] as number;
    total += Math.round(amount * unit);
  }
  if (total <= 0 && !(allowZero && total === 0)) return { error: `expected a duration greater than zero, got ${JSON.stringify(text)}` };
  return total;
}

export function formatDurationUs(durationUs: number): string {
  if (durationUs % 3_600_000_000 === 0) return `${durationUs / 3_600_000_000}h`;
  if (durationUs % 60_000_000 === 0) return `${durationUs / 60_000_000}m`;
  if (durationUs % 1_000_000 === 0) return `${durationUs / 1_000_000}s`;
  if (durationUs % 1_000 === 0) return `${durationUs / 1_000}ms`;
  return `${durationUs}us`;
}
