/**
 * A run's manifest (manifest.json): what it takes to re-execute the run and check it. Written by
 * the run controller; read by replay, fork, diff and the run browser.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AuraError } from '../core/kernel/errors.ts';
import type { RecordedAction } from '../core/sim/operator.ts';
import { runFiles } from './run-files.ts';

const jsonValue: z.ZodType<unknown> = z.lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValue), z.record(z.string(), jsonValue)]));

const action = z.union([
  z.object({ kind: z.literal('pause') }),
  z.object({ kind: z.literal('resume') }),
  z.object({ kind: z.literal('set'), path: z.string(), value: jsonValue }),
]);

export const runManifestSchema = z.object({
  format: z.literal('aura-lab-run'),
  formatVersion: z.literal(1),
  runId: z.string(),
  status: z.string(),
  scenario: z.object({ name: z.string(), file: z.string(), sha256: z.string(), text: z.string() }),
  seed: z.number().int().min(0),
  speed: z.union([z.number(), z.literal('max')]),
  app: z.object({ name: z.string(), version: z.string() }),
  node: z.string(),
  sqlite: z.string(),
  headPosition: z.number().int(),
  headHash: z.string(),
  events: z.number().int().nullable(),
  checkpointEveryEvents: z.number().int().positive().optional(),
  checkpoints: z.array(z.object({ position: z.number().int(), logHash: z.string(), stateHash: z.string() })).default([]),
  actions: z.array(z.object({ sequence: z.number().int().min(0), virtualTimeUs: z.number().int().min(0), action })).default([]),
  forkOf: z.object({ runId: z.string(), outDir: z.string(), at: z.number().int() }).optional(),
  projections: z.array(z.object({ name: z.string() }).passthrough()).default([]),
  /** A chaos experiment's run: the experiment as written, so that a replay can run it again. */
  experiment: z.object({ file: z.string(), sha256: z.string(), title: z.string(), journal: z.string(), text: z.string().optional() }).optional(),
  error: z.string().optional(),
});

export type RunManifest = Omit<z.infer<typeof runManifestSchema>, 'actions'> & { readonly actions: RecordedAction[] };

/** Reads and checks a run's manifest; AuraError('validation' | 'not_found') names the file and field. */
export function readRunManifest(runDir: string): RunManifest {
  const file = runFiles.manifest(runDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new AuraError('not_found', `${file}: no manifest (is ${runDir} a run directory?)`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new AuraError('validation', `${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = runManifestSchema.safeParse(document);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AuraError('validation', `${file}: ${issue?.path.join('.') || 'manifest'}: ${issue?.message ?? 'invalid'}`, parsed.error.issues.map((item) => ({ path: item.path.map(String), message: item.message })));
  }
  return parsed.data as RunManifest;
}
