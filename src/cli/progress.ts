/** A terminal progress bar with rate and ETA, drawn on stderr only when it is a terminal. */
export class ProgressBar {
  private readonly startedMs = Date.now();
  private lastDrawMs = 0;
  private readonly enabled: boolean;

  constructor(
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = stream.isTTY === true && process.env.CI === undefined;
  }

  update(fraction: number, detail: string): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.lastDrawMs < 80 && fraction < 1) return;
    this.lastDrawMs = now;
    const clamped = Math.max(0, Math.min(1, fraction));
    const width = 28;
    const filled = Math.round(clamped * width);
    const elapsedS = (now - this.startedMs) / 1000;
    const etaS = clamped > 0 ? (elapsedS * (1 - clamped)) / clamped : Number.NaN;
    const eta = Number.isFinite(etaS) ? `ETA ${formatSeconds(etaS)}` : 'ETA --';
    const line = `${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(clamped * 100).toFixed(0).padStart(3)}% ${detail} ${eta}`;
    this.stream.write(`\r${line.slice(0, (this.stream.columns ?? 120) - 1)}\x1b[K`);
  }

  done(): void {
    if (this.enabled) this.stream.write('\r\x1b[K');
  }
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  return `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)
    .toString()
    .padStart(2, '0')}s`;
}
