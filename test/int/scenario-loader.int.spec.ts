import { readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuraError, formatPath } from '../../src/core/kernel/errors.ts';
import { parseScenarioText, readScenarioFile } from '../../src/node/scenario-loader.ts';
import { repoRoot, temporaryDirectory } from '../support/fixtures.ts';

const corpus = join(repoRoot, 'test', 'fixtures', 'scenarios', 'broken');

/** Each broken file says what its error must be: `# expect: line:column path: message`. */
function expectationOf(file: string, text: string): { line: number; column: number; rest: string } {
  if (file === 'not-a-mapping.json') return { line: 1, column: 1, rest: 'expected a mapping, got a list' };
  if (file === 'bad-json.json') return { line: 5, column: 74, rest: 'workload[0].streams.count: expected an integer between 1 and 100000, got 0' };
  const match = /^# expect: (\d+):(\d+) (.*)$/m.exec(text);
  if (!match) throw new Error(`${file} has no "# expect:" line`);
  return { line: Number(match[1]), column: Number(match[2]), rest: match[3]! };
}

function loadError(path: string): AuraError {
  try {
    readScenarioFile(path);
  } catch (error) {
    if (error instanceof AuraError) return error;
    throw error;
  }
  throw new Error(`${path} was accepted`);
}

describe('scenario files', () => {
  const files = readdirSync(corpus).sort();

  it('has a corpus of broken files', () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)('%s fails with one line naming the file, line, column and field', (file) => {
    const path = join(corpus, file);
    const expected = expectationOf(file, readFileSync(path, 'utf8'));
    const error = loadError(path);
    expect(error.code).toBe('validation');
    expect(error.message).not.toContain('\n');
    expect(error.message).toContain(`${file}:${expected.line}:${expected.column}: `);
    expect(error.message).toContain(expected.rest);
    const issue = error.issues[0]!;
    expect([issue.line, issue.column]).toEqual([expected.line, expected.column]);
  });

  it('lists every problem in the issues and counts them in the message', () => {
    const error = (() => {
      try {
        parseScenarioText('version: 2\nname: Bad Name\nduration: 5s\nworkload: []\n', 'inline.yaml');
      } catch (caught) {
        return caught as AuraError;
      }
      throw new Error('accepted');
    })();
    expect(error.issues.map((issue) => `${issue.line}:${formatPath(issue.path)}`)).toEqual(['1:version', '2:name', '4:workload']);
    expect(error.message).toMatch(/^inline\.yaml:1:10: version: expected 1, got 2 \(and 2 more problems\)$/);
  });

  it('names a missing file, a directory and an unreadable file', () => {
    const dir = temporaryDirectory();
    try {
      expect(loadError(join(dir.path, 'nope.yaml')).message).toMatch(/nope\.yaml: cannot read scenario: no such file$/);
      expect(loadError(dir.path).message).toMatch(/: not a file$/);
      const locked = join(dir.path, 'locked.yaml');
      writeFileSync(locked, 'version: 1\n');
      chmodSync(locked, 0o000);
      if (process.getuid?.() !== 0) expect(loadError(locked).message).toMatch(/permission denied/);
      const big = join(dir.path, 'big.yaml');
      writeFileSync(big, `# ${'x'.repeat(1_100_000)}\n`);
      expect(loadError(big).code).toBe('limit');
    } finally {
      dir.remove();
    }
  });

  it('loads every scenario shipped in scenarios/', () => {
    const shipped = readdirSync(join(repoRoot, 'scenarios')).filter((file) => /\.(ya?ml|json)$/.test(file));
    expect(shipped).toContain('hello.yaml');
    for (const file of shipped) expect(readScenarioFile(join(repoRoot, 'scenarios', file)).scenario.name).toMatch(/^[a-z0-9-]+$/);
  });
});
