/**
 * `aura-lab session add-scenario | add-plan | note` on a lab's session kept on disk (no share
 * server running): valid files and notes go in; an invalid scenario or chaos plan file, a missing
 * file, a bad name or drill id is exit 2 with the file and field named, and the session is left
 * exactly as it was (no entry, no change in its history).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SessionRepo } from '../../src/node/session/session-repo.ts';
import { runCli } from '../support/cli.ts';
import { cleanupsAfterEach, repoRoot } from '../support/fixtures.ts';

const { tempDir } = cleanupsAfterEach('aura-lab-session-cli-');

/** The session on disk: its valid content and how many changes it has. */
async function sessionOf(home: string): Promise<{ scenarios: string[]; chaosPlans: string[]; drillNotes: { drillId: string; author: string; text: string }[]; changes: number }> {
  const session = await SessionRepo.open({ dataDir: home });
  try {
    const { session: doc } = session.read();
    return { scenarios: Object.keys(doc.scenarios).sort(), chaosPlans: Object.keys(doc.chaosPlans).sort(), drillNotes: Object.values(doc.drillNotes), changes: session.history().length };
  } finally {
    await session.close();
  }
}

describe('aura-lab session add-scenario | add-plan | note', () => {
  it('puts checked files and notes in the session; bad input is exit 2 naming the file and field, and changes nothing', { timeout: 120_000 }, async () => {
    const home = tempDir();
    const env = { AURA_LAB_HOME: home, AURA_LAB_SCENARIOS_DIR: join(repoRoot, 'scenarios') };
    const hello = join(repoRoot, 'scenarios', 'hello.yaml');

    const added = await runCli(['session', 'add-scenario', hello, '--json'], env);
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toMatchObject({ kind: 'scenario', name: 'hello', via: 'local copy' });
    const plan = await runCli(['session', 'add-plan', join(repoRoot, 'scenarios', 'chaos', 'load-spike.yaml'), '--name', 'spike', '--author', 'alice'], env);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toContain('chaos plan spike in the session (local copy)');
    const note = await runCli(['session', 'note', 'network-partition', 'Heal the partition after 30 s', '--author', 'alice'], env);
    expect(note.code).toBe(0);
    const before = await sessionOf(home);
    expect(before).toMatchObject({ scenarios: ['hello'], chaosPlans: ['spike'], drillNotes: [{ drillId: 'network-partition', author: 'alice', text: 'Heal the partition after 30 s' }] });

    // An invalid scenario: exit 2, its file, line and field named.
    const bad = join(tempDir(), 'broken.yaml');
    writeFileSync(bad, readFileSync(hello, 'utf8').replace('duration: 60s', 'duration: banana'));
    const invalid = await runCli(['session', 'add-scenario', bad, '--name', 'broken'], env);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toMatch(/broken\.yaml:\d+:\d+: duration: /);
    expect(invalid.stdout).toBe('');

    // A scenario as a chaos plan, a missing file, a bad name, a bad drill id, an empty note, missing arguments.
    const notPlan = await runCli(['session', 'add-plan', hello], env);
    expect(notPlan.code).toBe(2);
    expect(notPlan.stderr).toContain('hello.yaml');
    const missing = await runCli(['session', 'add-scenario', join(home, 'no-such.yaml')], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no-such.yaml');
    const badName = await runCli(['session', 'add-scenario', hello, '--name', 'not a key!'], env);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('name: ');
    const badDrill = await runCli(['session', 'note', '../etc', 'x'], env);
    expect(badDrill.code).toBe(2);
    expect(badDrill.stderr).toContain('drillId');
    const emptyNote = await runCli(['session', 'note', 'network-partition', ' '], env);
    expect(emptyNote.code).toBe(2);
    expect(emptyNote.stderr).toContain('text');
    expect((await runCli(['session', 'add-scenario'], env)).code).toBe(2);
    for (const [position, text, field] of [['abc', 'seen', 'position: expected a position (a positive integer), got "abc"'], ['0', 'seen', 'position: '], ['10', '', 'text: an annotation needs some text']]) {
      const badAnnotation = await runCli(['session', 'annotate', 'run-1', position as string, text as string], env);
      expect([badAnnotation.code, badAnnotation.stderr]).toEqual([2, expect.stringContaining(field as string)]);
    }

    expect(await sessionOf(home)).toEqual(before);
  });
});
