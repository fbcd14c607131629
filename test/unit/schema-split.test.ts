// The registry compiles each schema split into functions V8 can optimize (splitForCompile): the
// split must validate exactly as the schema written as one piece does — same verdict, same
// violations — on the brief's fixture, its subsets, type corruptions and generator events.
import type { ErrorObject, ValidateFunction } from 'ajv';
import { EVENT_SCHEMAS, SCHEMA_VERSIONS, type SchemaVersion } from '../../core/schema';
import { eventAjv, SPLIT_SCHEMA_CHARS, splitForCompile } from '../../core/schema/registry';
import { EventGenerator } from '../../generator/generator';
import { Rng } from '../../generator/prng';
import { loadFixture, optionalSubset, typeCorruption } from '../contract/brief-event';

const whole = eventAjv({ allErrors: true, inlineRefs: true });
const split = eventAjv({ allErrors: true, inlineRefs: false });
const validators = new Map<SchemaVersion, [ValidateFunction, ValidateFunction]>(
  SCHEMA_VERSIONS.map((v) => [v, [whole.compile(EVENT_SCHEMAS[v]), split.compile(splitForCompile(EVENT_SCHEMAS[v]))]]),
);

/** What a caller learns from a run: the verdict and each error's instance path, keyword and params. */
function verdict(validate: ValidateFunction, event: unknown): { ok: boolean; errors: string[] } {
  const ok = validate(event);
  const errors = (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.keyword} ${JSON.stringify(e.params)}`).sort();
  return { ok: ok as boolean, errors };
}

function expectSame(version: SchemaVersion, event: unknown): boolean {
  const [one, many] = validators.get(version)!;
  const expected = verdict(one, event);
  expect(verdict(many, event)).toEqual(expected);
  return expected.ok;
}

describe('splitForCompile', () => {
  test('splits the large schemas into pieces within the limit, and leaves small ones whole', () => {
    for (const v of ['2.0', '2.1'] as const) {
      const s = splitForCompile(EVENT_SCHEMAS[v]);
      const pieces = [{ ...s, definitions: undefined }, ...Object.values(s.definitions ?? {})];
      expect(pieces.length).toBeGreaterThan(2);
      for (const piece of pieces) expect(JSON.stringify(piece).length).toBeLessThanOrEqual(SPLIT_SCHEMA_CHARS);
    }
    expect(splitForCompile(EVENT_SCHEMAS['1.0'])).toEqual(EVENT_SCHEMAS['1.0']);
  });

  test("validates the brief's fixture, its subsets and its corruptions as the unsplit schema does", () => {
    const rng = new Rng(4242);
    const fixture = loadFixture();
    expect(expectSame('2.1', fixture)).toBe(true);
    let valid = 0;
    for (let i = 0; i < 200; i++) if (expectSame('2.1', optionalSubset(fixture, rng, i % 2 === 0 ? 0.3 : 0.7))) valid++;
    let invalid = 0;
    for (let i = 0; i < 300; i++) if (!expectSame('2.1', typeCorruption(rng).event)) invalid++;
    // Both kinds were exercised: subsets validate, corruptions do not.
    expect(valid).toBe(200);
    expect(invalid).toBe(300);
  });

  test("validates generator events (a fifth with defects) against every version's schema as the unsplit one does", () => {
    const gen = new EventGenerator({ seed: 9, tenants: 20, fraudRate: 0.05, defectRate: 0.2 });
    const outcomes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const event = gen.next().event;
      for (const v of SCHEMA_VERSIONS) outcomes.add(`${v} ${expectSame(v, event)}`);
    }
    // 2.1 events with and without defects; older schemas reject them (their required fields differ).
    expect(outcomes).toEqual(new Set(['2.1 true', '2.1 false', '2.0 false', '1.0 false']));
  });
});
