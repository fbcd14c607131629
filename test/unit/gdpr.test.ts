// The pure rules of GDPR erase/export and retention (core/gdpr.ts, core/gdpr-control.ts), the
// hours a hit makes stale (activities/gdpr-locate.ts), and the row predicates
// (activities/gdpr-sql.ts) run on an in-memory DuckDB: NULL ids, another tenant's equal token,
// anonymous ids by hash, the retention boundary.
import { DuckDBInstance } from '@duckdb/node-api';
import { hoursOfHits } from '../../activities/gdpr-locate';
import { keepSql, matchSql } from '../../activities/gdpr-sql';
import { auditKey, eraseStep, exportRoot, gdprWorkflowId, remainingOf, retentionCutoffs, tenantsInScope, type GdprSubject, type RowFilter } from '../../core/gdpr';
import { anonymousIdHash, subjectOf, validateRowFilter, validateSubject } from '../../core/gdpr-control';
import { hourLabel, hourRefsOf } from '../../core/hours';
import { createKeyring, tokenize, tokenizeEvent } from '../../core/pii';
import { EventGenerator } from '../../generator/generator';

const k1 = createKeyring({ v1: 'unit-secret-v1-0123456789' }, 'v1');
const k2 = createKeyring({ v1: 'unit-secret-v1-0123456789', v2: 'unit-secret-v2-0123456789' }, 'v2');
const H = 3_600_000;
const hit = (key: string, rows = 1) => ({ key, rows, etag: 'e', size: 1 });
const none = { raw: [], pending: [], compacted: [], views: [] };

describe('subjects', () => {
  test("a user id becomes the tokens ingestion wrote, under every key version, never the id itself", () => {
    const g = new EventGenerator({ seed: 3, tenants: 2, users: 20, defectRate: 0, fraudRate: 0, lateRate: 0 });
    let e = g.next().event;
    while (!e.event_data.user_context.user_id) e = g.next().event;
    const raw = e.event_data.user_context.user_id;
    const s = subjectOf(e.tenant_id, raw, k2);
    // what the ingestion API wrote before and after the key rotation
    expect(s.userTokens).toEqual(expect.arrayContaining([tokenizeEvent(e, k1).event_data.user_context.user_id!, tokenizeEvent(e, k2).event_data.user_context.user_id!]));
    expect(s.userTokens).toHaveLength(2);
    expect(JSON.stringify(s)).not.toContain(raw);
    // a token is taken as it is
    const token = tokenize(raw, 'user', k1);
    expect(subjectOf(e.tenant_id, token, k2).userTokens).toEqual([token]);
    // anonymous ids travel as sha256 only
    const withAnon = subjectOf(e.tenant_id, raw, k2, ['anon_x', 'anon_x']);
    expect(withAnon.anonymousIdHashes).toEqual([anonymousIdHash('anon_x')]);
    expect(JSON.stringify(withAnon)).not.toContain('anon_x');
  });

  test.each([
    ['a tenant id unfit for the lake', 'Bad Tenant', 'u', /^tenant: /],
    ['an empty user id', 'acme', '', /^user_id: /],
    ['a user id of 257 characters', 'acme', 'x'.repeat(257), /^user_id: /],
  ])('%s is refused, naming the field', (_what, tenant, user, message) => {
    expect(() => subjectOf(tenant as string, user as string, k1)).toThrow(message as RegExp);
  });

  test('untrusted subjects and row filters are validated field by field', () => {
    const ok: GdprSubject = { tenant: 'acme', userTokens: [tokenize('u', 'user', k1)] };
    expect(validateSubject(ok)).toEqual(ok);
    expect(() => validateSubject({ tenant: 'acme', userTokens: ['alice'] })).toThrow(/^subject.userTokens: /);
    expect(() => validateSubject({ tenant: 'acme', userTokens: [] })).toThrow(/^subject.userTokens: /);
    expect(() => validateSubject({ ...ok, anonymousIdHashes: ['anon_1'] })).toThrow(/^subject.anonymousIdHashes: /);
    expect(() => validateSubject({ ...ok, tenant: "x' OR 1=1" })).toThrow(/^subject.tenant: /);
    expect(validateRowFilter({ kind: 'retention', cutoffs: [{ tenant: 'acme', beforeMs: 10 * H, days: 3 }] })).toEqual({ kind: 'retention', cutoffs: [{ tenant: 'acme', beforeMs: 10 * H, days: 3 }] });
    expect(() => validateRowFilter({ kind: 'retention', cutoffs: [{ tenant: 'acme', beforeMs: 10 * H + 1, days: 3 }] })).toThrow(/beforeMs/);
    expect(() => validateRowFilter({ kind: 'everything' })).toThrow(/^filter.kind: /);
  });
});

describe('retention cutoffs', () => {
  test('each policy cuts at the hour boundary at or before as-of minus its days', () => {
    const asOf = Date.parse('2026-11-27T10:42:00Z');
    expect(retentionCutoffs({ zeta: 1, acme: 30 }, asOf)).toEqual([
      { tenant: 'acme', days: 30, beforeMs: Date.parse('2026-10-28T10:00:00Z') },
      { tenant: 'zeta', days: 1, beforeMs: Date.parse('2026-11-26T10:00:00Z') },
    ]);
    expect(retentionCutoffs({}, asOf)).toEqual([]);
  });

  test.each([0, -1, 1.5, 36_501])('%j days is not a policy', (days) => {
    expect(() => retentionCutoffs({ acme: days }, 0)).toThrow(/whole days/);
  });

  test('an hour is in scope for the tenants whose cutoff lies after its start', () => {
    const filter: RowFilter = { kind: 'retention', cutoffs: [{ tenant: 'a', beforeMs: Date.parse('2026-03-01T11:00:00Z'), days: 1 }, { tenant: 'b', beforeMs: Date.parse('2026-03-01T09:00:00Z'), days: 2 }] };
    expect(tenantsInScope(filter, { dt: '2026-03-01', hour: 8 })).toEqual(['a', 'b']);
    expect(tenantsInScope(filter, { dt: '2026-03-01', hour: 10 })).toEqual(['a']);
    expect(tenantsInScope(filter, { dt: '2026-03-01', hour: 11 })).toEqual([]);
    expect(tenantsInScope({ kind: 'subject', subject: { tenant: 'c', userTokens: [] } }, { dt: '2026-03-01', hour: 11 })).toEqual(['c']);
  });
});

describe('the erase loop', () => {
  test('rewrite while committed objects, compacted files or views hold the subject; wait while only uncommitted chunks do; done when nothing does', () => {
    expect(eraseStep(none)).toBe('clean');
    expect(eraseStep({ ...none, raw: [hit('r')] })).toBe('erase');
    expect(eraseStep({ ...none, compacted: [hit('c')] })).toBe('erase');
    expect(eraseStep({ ...none, views: [{ key: 'v', view: 'user_days', unit: '2026-03-01', rows: 2 }] })).toBe('erase');
    expect(eraseStep({ ...none, pending: [hit('p')] })).toBe('wait');
    expect(eraseStep({ ...none, pending: [hit('p')], raw: [hit('r')] })).toBe('erase');
    expect(remainingOf({ ...none, raw: [hit('a', 2), hit('b', 3)], pending: [hit('p', 1)] })).toEqual({ raw: 5, pending: 1, compacted: 0, views: 0 });
  });

  test('the hours to recompute: raw and compacted hours, view hour units, and an hour of each day unit', () => {
    const hours = hoursOfHits(
      {
        raw: [hit('x/raw/dt=2026-03-01/hour=10/p=00/0000000000000000000-0000000000000000009.parquet')],
        pending: [hit('x/raw/dt=2026-03-01/hour=12/p=01/0000000000000000010-0000000000000000019.parquet')],
        compacted: [hit('x/compacted/tenant_group=_shared/dt=2026-03-01/hour=10/0123456789abcdef-0000.parquet')],
        views: [
          { key: 'k1', view: 'user_activity', unit: '2026-03-02T07', rows: 1 },
          { key: 'k2', view: 'user_days', unit: '2026-03-03', rows: 1 },
          { key: 'k3', view: 'user_days', unit: '2026-03-04', rows: 1 },
        ],
      },
      { units: { hour: { '2026-03-03T05': 'v1', '2026-03-03T09': 'v1' }, day: {}, feedback_day: {}, version: null } },
    );
    // day 03 has hours in the version: its first; day 04 has none: hour 00 (empty) drops the day
    expect(hours.map(hourLabel)).toEqual(['2026-03-01T10', '2026-03-01T12', '2026-03-02T07', '2026-03-03T05', '2026-03-04T00']);
  });
});

describe('names', () => {
  test('audit records by tenant and day; exports by tenant and request', () => {
    const id = '7e2895b1-3c82-41da-bcc2-bfccbfc04582';
    expect(auditKey('p', 'gdpr_erase', id, '2026-11-27T10:00:00.000Z', 'acme')).toBe(`p/audit/gdpr/tenant=acme/dt=2026-11-27/${id}-erase.json`);
    expect(auditKey('', 'gdpr_export', id, '2026-11-27T10:00:00.000Z', 'acme')).toBe(`audit/gdpr/tenant=acme/dt=2026-11-27/${id}-export.json`);
    expect(auditKey('p/', 'retention', 'rtap-retention-daily/2026', '2026-11-27T03:30:00Z')).toBe('p/audit/retention/dt=2026-11-27/rtap-retention-daily_2026.json');
    expect(() => auditKey('', 'gdpr_erase', id, '2026-11-27T10:00:00Z')).toThrow(/tenant/);
    expect(exportRoot('p', 'acme', id)).toBe(`p/exports/acme/${id}/`);
    expect(gdprWorkflowId('export', id)).toBe(`rtap-gdpr-export-${id}`);
  });

  test('hour lists from workflow input: real dates and hours only, sorted, distinct', () => {
    expect(hourRefsOf([{ dt: '2026-03-01', hour: 10 }, { dt: '2026-02-28', hour: 23 }, { dt: '2026-03-01', hour: 10 }]).map(hourLabel)).toEqual(['2026-02-28T23', '2026-03-01T10']);
    expect(() => hourRefsOf([{ dt: '2026-02-30', hour: 1 }])).toThrow(/^hours\[0\]: /);
    expect(() => hourRefsOf([{ dt: '2026-03-01', hour: 24 }])).toThrow(/^hours\[0\]: /);
    expect(() => hourRefsOf('2026-03-01T10')).toThrow(/^hours: /);
  });
});

describe('row predicates (DuckDB)', () => {
  let db: DuckDBInstance;
  const token = tokenize('alice', 'user', k1);
  const token2 = tokenize('alice', 'user', k2);
  const subject: GdprSubject = { tenant: 'acme', userTokens: [token, token2], anonymousIdHashes: [anonymousIdHash('anon_alice')] };
  const rows = [
    // tenant, user_id, anonymous_id, event_time, matches the subject
    ['acme', token, 'anon_alice', '2026-03-01 10:00:00', true],
    ['acme', token2, null, '2026-03-01 10:10:00', true],
    ['acme', null, 'anon_alice', '2026-03-01 10:20:00', true],
    ['acme', null, null, '2026-03-01 10:30:00', false],
    ['acme', 'tok_v1_00000000000000000000000000000000', 'anon_bob', '2026-03-01 10:40:00', false],
    ['other', token, 'anon_alice', '2026-03-01 10:50:00', false],
    ['acme', 'o\'brien', null, '2026-03-01 11:00:00', false],
  ] as const;

  beforeAll(async () => {
    db = await DuckDBInstance.create(':memory:', { threads: '1' });
    const conn = await db.connect();
    await conn.run(`CREATE TABLE t (tenant_id VARCHAR, user_id VARCHAR, anonymous_id VARCHAR, event_time TIMESTAMP, expected BOOLEAN)`);
    for (const r of rows) await conn.run(`INSERT INTO t VALUES (${r.map((v) => (v === null ? 'NULL' : typeof v === 'boolean' ? String(v) : `'${String(v).replace(/'/g, "''")}'`)).join(', ')})`);
    conn.closeSync();
  });
  afterAll(() => db.closeSync());

  const count = async (where: string) => {
    const conn = await db.connect();
    try {
      return Number((await conn.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM t WHERE ${where}`)).getRowObjectsJson()[0].n);
    } finally {
      conn.closeSync();
    }
  };

  test('the subject: its tokens in its tenant, or its anonymous ids by hash; NULLs never match, and every other row is kept', async () => {
    const filter: RowFilter = { kind: 'subject', subject };
    expect(await count(`(${matchSql(filter)}) AND expected`)).toBe(3);
    expect(await count(`(${matchSql(filter)}) AND NOT expected`)).toBe(0);
    expect(await count(`${keepSql(filter)} AND NOT expected`)).toBe(4);
    expect(await count(keepSql(filter))).toBe(4);
    // without anonymous ids only the tokens count
    expect(await count(matchSql({ kind: 'subject', subject: { tenant: 'acme', userTokens: [token] } }))).toBe(1);
  });

  test("retention: a tenant's rows before its cutoff, the cutoff itself kept", async () => {
    const filter: RowFilter = { kind: 'retention', cutoffs: [{ tenant: 'acme', beforeMs: Date.parse('2026-03-01T10:30:00Z'), days: 1 }] };
    expect(await count(matchSql(filter))).toBe(3);
    expect(await count(keepSql(filter))).toBe(rows.length - 3);
  });
});
