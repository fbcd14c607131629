// Backfill ranges as users write them, validated once for the CLI and the admin API.
import { backfillInput } from '../../core/batch-control';
import { hourLabel, hoursInRange, parseHourBound, uniqueHours, MAX_BACKFILL_HOURS } from '../../core/hours';

describe('hour bounds', () => {
  test('a date, an hour and an instant with a zone', () => {
    expect(parseHourBound('2026-11-01', 'from')).toBe(Date.parse('2026-11-01T00:00:00Z'));
    expect(parseHourBound('2026-11-01T05', 'from')).toBe(Date.parse('2026-11-01T05:00:00Z'));
    expect(parseHourBound('2026-11-01T05:30:00+01:00', 'from')).toBe(Date.parse('2026-11-01T04:30:00Z'));
  });

  test.each(['', 'yesterday', '2026-11-01 05:00', '2026-11-01T05:00', '2026-13-01', '1e9'])('%j is refused, naming the field', (v) => {
    expect(() => parseHourBound(v, 'to')).toThrow(/^to: /);
  });

  test('[from, to) covers every hour it touches, to exclusive', () => {
    const day = hoursInRange(Date.parse('2026-11-01T00:00:00Z'), Date.parse('2026-11-02T00:00:00Z'));
    expect(day).toHaveLength(24);
    expect(hourLabel(day[0])).toBe('2026-11-01T00');
    expect(hourLabel(day[23])).toBe('2026-11-01T23');
    const partial = hoursInRange(Date.parse('2026-11-01T05:30:00Z'), Date.parse('2026-11-01T06:10:00Z'));
    expect(partial.map(hourLabel)).toEqual(['2026-11-01T05', '2026-11-01T06']);
    expect(() => hoursInRange(10, 10)).toThrow(/empty/);
    expect(() => hoursInRange(0, (MAX_BACKFILL_HOURS + 1) * 3_600_000)).toThrow(/at most/);
  });

  test('uniqueHours sorts and removes repeats', () => {
    const h = (dt: string, hour: number) => ({ dt, hour });
    expect(uniqueHours([h('2026-11-02', 1), h('2026-11-01', 23), h('2026-11-02', 1)]).map(hourLabel)).toEqual(['2026-11-01T23', '2026-11-02T01']);
  });
});

describe('backfill requests', () => {
  test('a valid request becomes the workflow input', () => {
    const { input, hours, label } = backfillInput({ from: '2026-11-01', to: '2026-11-01T03', tenant: 'acme', concurrency: 3 });
    expect(hours).toBe(3);
    expect(label).toBe('2026-11-01T00..2026-11-01T02 tenant acme');
    expect(input).toEqual({ prefix: '', range: { fromMs: Date.parse('2026-11-01T00:00:00Z'), toMs: Date.parse('2026-11-01T03:00:00Z') }, tenant: 'acme', concurrency: 3 });
  });

  test.each([
    [{ from: 'x', to: '2026-11-02' }, /^from: /],
    [{ from: '2026-11-02', to: '2026-11-01' }, /empty/],
    [{ from: '2026-11-01', to: '2999-01-01' }, /^to: .*future/],
    [{ from: '2026-11-01', to: '2026-11-02', tenant: '../other' }, /^tenant: /],
    [{ from: '2026-11-01', to: '2026-11-02', concurrency: 0 }, /^concurrency: /],
    [{ from: '2026-11-01', to: '2026-11-02', concurrency: 1.5 }, /^concurrency: /],
  ])('%j is refused: %s', (req, message) => {
    expect(() => backfillInput(req)).toThrow(message);
  });
});
