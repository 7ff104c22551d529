import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { AuraError, formatPath } from '../../src/core/kernel/errors.ts';
import { validateScenario } from '../../src/core/sim/scenario.ts';
import { parseDurationUs } from '../../src/core/sim/duration.ts';
import { helloScenarioText, tinyScenarioText } from '../support/fixtures.ts';

function issuesOf(document: unknown): { path: string; message: string }[] {
  try {
    validateScenario(document);
  } catch (error) {
    if (error instanceof AuraError) return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
    throw error;
  }
  throw new Error('expected the scenario to be rejected');
}

type Doc = Record<string, unknown>;
const generator = (d: Doc, index: number) => (d.workload as Record<string, unknown>[])[index]!;
const eventSpec = (d: Doc, g: number, e: number) => (generator(d, g).events as Record<string, unknown>[])[e]!;
const payload = (d: Doc, g: number, e: number) => eventSpec(d, g, e).payload as Record<string, unknown>;

function withChange(change: (document: Doc) => void): unknown {
  const document = parse(tinyScenarioText()) as Doc;
  change(document);
  return document;
}

describe('scenario model', () => {
  it('accepts hello.yaml and fills defaults', () => {
    const scenario = validateScenario(parse(helloScenarioText));
    expect(scenario.name).toBe('hello');
    expect(scenario.duration).toBe(60_000_000);
    expect(scenario.workload.map((generator) => generator.name)).toEqual(['orders', 'payments']);
    expect(scenario.workload[1]?.events[0]?.weight).toBe(1);
    expect(scenario.projections).toEqual(['events-per-second-by-type']);
  });

  it.each([
    ['a wrong type', (d: Doc) => (generator(d, 0).rate = { profile: 'constant', perSecond: 'fast' }), 'workload[0].rate.perSecond', /expected a number > 0/],
    ['an unknown field', (d: Doc) => (d.durration = '5s'), 'durration', /unknown field; expected one of version, name/],
    ['a missing field', (d: Doc) => delete d.duration, 'duration', /required field is missing/],
    ['a bad duration', (d: Doc) => (d.duration = 'ten seconds'), 'duration', /expected a duration such as 500ms/],
    ['a bad rate profile', (d: Doc) => (generator(d, 0).rate = { profile: 'sinus', perSecond: 3 }), 'workload[0].rate.profile', /expected one of constant/],
    ['an inverted range', (d: Doc) => (payload(d, 0, 0).amount = { int: [9, 1] }), 'workload[0].events[0].payload.amount.int', /min <= max/],
    ['a bad version', (d: Doc) => (d.version = 2), 'version', /expected 1, got 2/],
    ['an unknown projection', (d: Doc) => (d.projections = ['nope']), 'projections[0]', /expected one of events-per-second-by-type/],
    ['a bad event type name', (d: Doc) => (eventSpec(d, 1, 0).type = 'payment captured'), 'workload[1].events[0].type', /PascalCase/],
    ['an empty workload', (d: Doc) => (d.workload = []), 'workload', /at least 1 item/],
    ['a payload field with two kinds', (d: Doc) => (payload(d, 0, 0).amount = { int: [1, 2], const: 3 }), 'workload[0].events[0].payload.amount', /exactly one of int, oneOf, const, text, sequence/],
    ['a duplicate generator', (d: Doc) => (generator(d, 1).name = 'orders'), 'workload[1].name', /duplicate generator name/],
    ['a negative seed', (d: Doc) => (d.seed = -4), 'seed', /expected an integer between 0 and 9007199254740991, got -4/],
  ])('rejects %s with the exact field path', (_label, change, path, message) => {
    const issues = issuesOf(withChange(change));
    expect(issues[0]?.path).toBe(path);
    expect(issues[0]?.message).toMatch(message);
  });

  it('names every problem across the file at once, not only the first', () => {
    const issues = issuesOf(
      withChange((d) => {
        generator(d, 1).name = 'orders';
        d.alerts = [
          { kind: 'burnRate', name: 'burn', slo: 'nope', above: 2, window: '1m' },
          { kind: 'threshold', name: 'both', metric: 'events', above: 1, below: 2 },
        ];
      }),
    );
    expect(issues.map((issue) => issue.path)).toEqual(['workload[1].name', 'alerts[0].slo', 'alerts[1]']);
  });

  it('reports every problem, not only the first', () => {
    const issues = issuesOf(
      withChange((d) => {
        d.seed = 'x';
        d.duration = 5;
      }),
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(['duration', 'seed']);
  });

  it('rejects a document that is not a mapping', () => {
    expect(issuesOf(['a', 'list'])[0]).toEqual({ path: '(root)', message: 'expected a mapping, got a list' });
  });
});

describe('durations', () => {
  it.each([
    ['500ms', 500_000],
    ['30s', 30_000_000],
    ['10m', 600_000_000],
    ['1h30m', 5_400_000_000],
    ['1.5s', 1_500_000],
    ['250us', 250],
  ])('parses %s', (text, expected) => {
    expect(parseDurationUs(text)).toBe(expected);
  });

  it.each(['', '10', 'ten s', '-5s', '0s', '5 s'])('rejects %j', (text) => {
    expect(typeof parseDurationUs(text)).toBe('object');
  });
});
