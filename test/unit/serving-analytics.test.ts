// The batch-view analytics on hand-made view files: funnels (from funnel_1d and from
// session_steps, which must agree), the four attribution models against per-purchase arithmetic,
// cohort ids, and the async job table's limits. The real-stack version is
// test/integration/api-contract.integration.test.ts.
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDuckDb, type OpenDuckDb } from '../../core/duckdb';
import { cohortMonday, isoWeek } from '../../serving/analytics/cohorts';
import { attributionSql, funnelSql, isStepPrefix } from '../../serving/analytics/funnel-sql';
import express from 'express';
import request from 'supertest';
import { createJobRelay, serveJobLookups, type Channel } from '../../serving/analytics/job-relay';
import { JobTable, taskHandler, type JobResult } from '../../serving/analytics/jobs';
import { parseDayRange, QueryError } from '../../serving/analytics/query-model';
import { queryRows } from '../../serving/analytics/view-query';

const DAY_US = 86_400_000_000;
const D1 = Date.parse('2026-11-22T00:00:00Z') * 1000;

let db: OpenDuckDb;
let dir: string;

beforeAll(async () => {
  db = await openDuckDb({ threads: 1, memoryLimit: '256MB' });
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'rtap-serving-analytics-'));
});

afterAll(async () => {
  db.close();
  await fs.rm(dir, { recursive: true, force: true });
});

async function write(file: string, select: string): Promise<string> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await db.connection.run(`COPY (${select}) TO '${file}' (FORMAT parquet)`);
  return file;
}

describe('funnels', () => {
  // sessions of tenant t1 over two days, with the steps each reached (any order within the day)
  const sessions: { day: number; id: string; steps: string[]; tenant?: string }[] = [
    { day: 0, id: 's1', steps: ['page_view', 'add_to_cart', 'checkout', 'purchase'] },
    { day: 0, id: 's2', steps: ['page_view', 'add_to_cart'] },
    { day: 0, id: 's3', steps: ['add_to_cart', 'checkout'] },
    { day: 0, id: 's4', steps: ['page_view'] },
    { day: 1, id: 's5', steps: ['page_view', 'checkout', 'purchase'] },
    { day: 1, id: 's6', steps: ['purchase', 'add_to_cart', 'page_view'] },
    { day: 1, id: 'x1', steps: ['page_view', 'add_to_cart', 'checkout', 'purchase'], tenant: 't2' },
  ];
  const ALL = ['page_view', 'add_to_cart', 'checkout', 'purchase'];

  /** Sessions that reached steps[0..k] (in any order within the day), per k: the definition, by hand. */
  const expected = (steps: string[], days: number[]) =>
    steps.map((_, k) => sessions.filter((s) => (s.tenant ?? 't1') === 't1' && days.includes(s.day) && steps.slice(0, k + 1).every((x) => s.steps.includes(x))).length);

  let funnelFiles: string[];
  let stepFiles: string[];

  beforeAll(async () => {
    // session_steps: each session's flags split over two hours of its day, as hour files hold them
    stepFiles = [];
    for (const d of [0, 1]) {
      for (const hour of ['09', '10']) {
        const rows = sessions
          .filter((s) => s.day === d)
          .map((s) => {
            const half = hour === '09' ? s.steps.slice(0, 1) : s.steps.slice(1);
            return `('${s.tenant ?? 't1'}', '${s.id}', ${ALL.map((x) => half.includes(x)).join(', ')})`;
          });
        const dt = new Date((D1 + d * DAY_US) / 1000).toISOString().slice(0, 10);
        stepFiles.push(await write(path.join(dir, `views/session_steps/version=v1/dt=${dt}/hour=${hour}/data.parquet`), `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(tenant_id, session_id, ${ALL.join(', ')})`));
      }
    }
    // funnel_1d as the batch layer computes it, from those files
    funnelFiles = [];
    for (const d of [0, 1]) {
      const rows = ALL.map((s, i) => `('t1', ${D1 + d * DAY_US}, ${i + 1}, '${s}', ${expected(ALL, [d])[i]})`);
      funnelFiles.push(await write(path.join(dir, `views/funnel_1d/d${d}.parquet`), `SELECT tenant_id, window_start_us::BIGINT AS window_start_us, step_index::INTEGER AS step_index, step, sessions::BIGINT AS sessions FROM (VALUES ${rows.join(', ')}) AS t(tenant_id, window_start_us, step_index, step, sessions)`));
    }
  });

  const params = { tenant: 't1', from: D1, to: D1 + 2 * DAY_US };

  test('funnel_1d and session_steps give the same counts for the standard steps, and the definition', async () => {
    const fromDays = await queryRows(db.instance, funnelSql({ view: 'funnel_1d', files: funnelFiles }, ['page_view', 'add_to_cart', 'checkout', 'purchase'], 'all'), params);
    const fromSessions = await queryRows(db.instance, funnelSql({ view: 'session_steps', files: stepFiles }, ['page_view', 'add_to_cart', 'checkout', 'purchase'], 'all'), params);
    expect(fromDays).toEqual(fromSessions);
    expect(fromDays.map((r) => r.sessions)).toEqual(expected(ALL, [0, 1]));
    expect(fromDays[0].conversion_from_previous).toBeNull();
    expect(fromDays[1].conversion_from_previous).toBeCloseTo(Number(fromDays[1].sessions) / Number(fromDays[0].sessions));
    expect(fromDays[3].conversion_from_first).toBeCloseTo(Number(fromDays[3].sessions) / Number(fromDays[0].sessions));
  });

  test('any step list from session_steps, per day, other tenants excluded', async () => {
    const steps = ['checkout', 'page_view'] as const;
    expect(isStepPrefix([...steps])).toBe(false);
    const rows = await queryRows(db.instance, funnelSql({ view: 'session_steps', files: stepFiles }, [...steps], 'day'), params);
    expect(rows.map((r) => [r.day, r.step, r.sessions])).toEqual([
      ['2026-11-22', 'checkout', expected([...steps], [0])[0]],
      ['2026-11-22', 'page_view', expected([...steps], [0])[1]],
      ['2026-11-23', 'checkout', expected([...steps], [1])[0]],
      ['2026-11-23', 'page_view', expected([...steps], [1])[1]],
    ]);
  });

  test('a range with no data gives zeros per step', async () => {
    const rows = await queryRows(db.instance, funnelSql({ view: 'funnel_1d', files: funnelFiles }, ['page_view', 'add_to_cart'], 'all'), { tenant: 'nobody', from: D1, to: D1 + DAY_US });
    expect(rows.map((r) => r.sessions)).toEqual([0, 0]);
  });
});

describe('attribution', () => {
  const T = (h: number) => new Date(Date.parse('2026-11-22T12:00:00Z') + h * 3_600_000).toISOString();
  // purchases at T(0) (one at T(5)) with journeys; touchpoint times in the raw event only
  const purchases: { id: string; revenue: number; journey: { touchpoint: string; timestamp?: string }[]; tenant?: string }[] = [
    { id: 'p1', revenue: 100, journey: [{ touchpoint: 'email', timestamp: T(-48) }, { touchpoint: 'search', timestamp: T(-1) }] },
    { id: 'p2', revenue: 40, journey: [{ touchpoint: 'search', timestamp: T(-10) }, { touchpoint: 'social', timestamp: T(-10) }, { touchpoint: 'direct', timestamp: T(0) }] },
    { id: 'p3', revenue: 60, journey: [] },
    { id: 'p4', revenue: 30, journey: [{ touchpoint: 'email' }] }, // no timestamp: linear fallback under time decay
    { id: 'p5', revenue: 999, journey: [{ touchpoint: 'search', timestamp: T(-1) }], tenant: 't2' },
  ];
  let viewFile: string;
  let rawFile: string;

  beforeAll(async () => {
    const rows = purchases.map((p, i) => {
      const tps = `[${p.journey.map((j) => `'${j.touchpoint}'`).join(', ')}]::VARCHAR[]`;
      return `('${p.tenant ?? 't1'}', '${p.id}', TIMESTAMP '${T(0).replace('T', ' ').replace('Z', '')}', ${p.revenue}::DOUBLE, ${tps}, 0, ${i})`;
    });
    viewFile = await write(path.join(dir, 'views/attribution_purchases/data.parquet'), `SELECT * FROM (VALUES ${rows.join(', ')}) AS t(tenant_id, event_id, event_time, revenue, touchpoints, _partition, _offset)`);
    const raw = purchases.map((p, i) => {
      const json = JSON.stringify({ event_data: { business_context: { interaction_context: { touchpoint_journey: p.journey } } } }).replace(/'/g, "''");
      return `('${p.tenant ?? 't1'}', '${p.id}', 'purchase', '${json}', 0, ${i}::BIGINT)`;
    });
    rawFile = await write(path.join(dir, 'raw/data.parquet'), `SELECT * FROM (VALUES ${raw.join(', ')}) AS t(tenant_id, event_id, event_subtype, event_json, _partition, _offset)`);
  });

  /** Per-purchase arithmetic: each model's weights, summed per touchpoint. */
  function byHand(model: 'first' | 'last' | 'linear' | 'time_decay', halfLife = 24): Map<string | null, { revenue: number; conversions: number }> {
    const out = new Map<string | null, { revenue: number; conversions: number }>();
    const add = (tp: string | null, w: number, revenue: number) => {
      const r = out.get(tp) ?? { revenue: 0, conversions: 0 };
      r.revenue += w * revenue;
      r.conversions += w;
      out.set(tp, r);
    };
    for (const p of purchases.filter((x) => !x.tenant)) {
      const n = p.journey.length;
      if (n === 0) {
        add(null, 1, p.revenue);
        continue;
      }
      const decay = p.journey.map((j) => (j.timestamp ? 0.5 ** (Math.max(0, Date.parse(T(0)) - Date.parse(j.timestamp)) / 3_600_000 / halfLife) : 0));
      const total = decay.reduce((a, b) => a + b, 0);
      p.journey.forEach((j, i) => {
        const w = model === 'first' ? (i === 0 ? 1 : 0) : model === 'last' ? (i === n - 1 ? 1 : 0) : model === 'linear' || total === 0 ? 1 / n : decay[i] / total;
        add(j.touchpoint, w, p.revenue);
      });
    }
    return out;
  }

  test.each(['first', 'last', 'linear', 'time_decay'] as const)('%s: revenue per touchpoint equals per-purchase arithmetic', async (model) => {
    const sql = attributionSql([viewFile], model, model === 'time_decay' ? [rawFile] : []);
    const rows = await queryRows(db.instance, sql, { tenant: 't1', from: D1, to: D1 + DAY_US, half_life: 24 });
    const want = byHand(model);
    const got = new Map(rows.map((r) => [r.touchpoint as string | null, r]));
    for (const [tp, w] of want) {
      if (w.conversions === 0) continue;
      expect(Number(got.get(tp)?.revenue)).toBeCloseTo(w.revenue, 9);
      expect(Number(got.get(tp)?.conversions)).toBeCloseTo(w.conversions, 9);
    }
    // every purchase's revenue is attributed exactly once, and nothing of t2's
    expect(rows.reduce((n, r) => n + Number(r.revenue), 0)).toBeCloseTo(230, 9);
    expect(rows.reduce((n, r) => n + Number(r.conversions), 0)).toBeCloseTo(4, 9);
    expect(rows.reduce((n, r) => n + Number(r.revenue_share), 0)).toBeCloseTo(1, 9);
  });
});

describe('day ranges and cohort ids', () => {
  test('day ranges name the failing field', () => {
    expect(parseDayRange({ from: '2026-11-22', to: '2026-11-24' })).toMatchObject({ fromUs: D1, toUs: D1 + 2 * DAY_US });
    const fails = (v: unknown) => {
      try {
        parseDayRange(v);
      } catch (e) {
        return (e as QueryError).path;
      }
      return undefined;
    };
    expect(fails({ from: '2026-02-30', to: '2026-03-02' })).toBe('/time_range/from');
    expect(fails({ from: '2026-11-22', to: '2026-11-22' })).toBe('/time_range/to');
    expect(fails({ from: '2020-01-01', to: '2026-01-01' })).toBe('/time_range');
  });

  test('ISO weeks and Mondays', () => {
    expect(isoWeek(Date.parse('2026-11-16T00:00:00Z'))).toBe('2026-W47');
    expect(isoWeek(Date.parse('2021-01-03T00:00:00Z'))).toBe('2020-W53');
    expect(cohortMonday('2026-W47')).toBe('2026-11-16');
    expect(cohortMonday('2020-W53')).toBe('2020-12-28');
    expect(cohortMonday('2026-W01')).toBe('2025-12-29');
    expect(cohortMonday('2026-11-16')).toBe('2026-11-16');
    expect(cohortMonday('2026-W53')).toBe('2026-12-28'); // 2026 starts on a Thursday: 53 weeks
    expect(() => cohortMonday('2025-W53')).toThrow(/not a week of 2025/);
    expect(() => cohortMonday('2026-11-18')).toThrow(/Monday is 2026-11-16/);
  });
});

describe('the async job table', () => {
  const rows: JobResult = { kind: 'rows', columns: ['a'], rows: [{ a: 1 }], meta: {} };
  const limits = { budgetMs: 10, maxFiles: 10, maxJobs: 3, ttlMs: 1000, perTenantRunning: 2 };

  test('jobs are the tenant’s own, expire after the TTL, and are capped', async () => {
    let now = 0;
    const table = new JobTable(limits, () => now);
    const a = table.start('t1', 'query', 'requested', Promise.resolve(rows));
    if ('refused' in a) throw new Error('refused');
    await Promise.resolve();
    expect(table.get('t1', a.id)?.status).toBe('done');
    expect(table.get('t2', a.id)).toBeUndefined();
    now = 2000;
    expect(table.get('t1', a.id)).toBeUndefined();

    const never = new Promise<JobResult>(() => undefined);
    table.start('t1', 'query', 'requested', never);
    table.start('t1', 'query', 'requested', never);
    expect(table.start('t1', 'query', 'requested', never)).toEqual({ refused: 'tenant_limit' });
    table.start('t2', 'query', 'requested', never);
    // three running jobs fill the table: nothing finished to drop
    expect(table.start('t3', 'query', 'requested', never)).toEqual({ refused: 'table_full' });
  });

  test('a failed job keeps a client error’s status, and hides anything else', async () => {
    const table = new JobTable(limits);
    const bad = table.start('t1', 'query', 'requested', Promise.reject(new QueryError('/limit', 'too big')));
    const broken = table.start('t1', 'query', 'requested', Promise.reject(new Error('s3://secret/path unreachable')));
    await new Promise((r) => setImmediate(r));
    if ('refused' in bad || 'refused' in broken) throw new Error('refused');
    expect(table.get('t1', bad.id)?.error).toMatchObject({ status: 400, details: [{ path: '/limit' }] });
    expect(table.get('t1', broken.id)?.error).toMatchObject({ status: 503 });
    expect(JSON.stringify(table.get('t1', broken.id))).not.toContain('secret');
  });
});

describe('answers within the time budget, or as a job', () => {
  const rows: JobResult = { kind: 'rows', columns: ['a', 'b'], rows: [{ a: 1, b: 'x' }], meta: { m: 1 } };
  const table = new JobTable({ budgetMs: 50, maxFiles: 5, maxJobs: 10, ttlMs: 60_000, perTenantRunning: 4 });
  const app = express();
  app.use((req, _res, next) => {
    req.tenant = 't1';
    next();
  });
  app.get(
    '/q',
    taskHandler({ jobs: table, duck: undefined as never }, (req) => ({
      kind: 'q',
      plannedFiles: Number(req.query.files ?? 0),
      run: async () => {
        await new Promise((r) => setTimeout(r, Number(req.query.ms ?? 0)));
        return rows;
      },
    })),
  );

  test('fast and small: the answer itself', async () => {
    const res = await request(app).get('/q');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ data: [{ a: 1, b: 'x' }], meta: { m: 1 } });
    expect((await request(app).get('/q').set('accept', 'text/csv')).text).toBe('a,b\n1,x\n');
  });

  test('over the budget, over the planned files, or asked: 202, and the job finishes', async () => {
    for (const [query, reason] of [['ms=300', 'time_budget'], ['files=6', 'planned_work'], ['async=true', 'requested']] as const) {
      const res = await request(app).get(`/q?${query}`);
      expect([query, res.status, res.body.reason]).toEqual([query, 202, reason]);
      expect(res.headers.location).toBe(`/api/v2/analytics/jobs/${res.body.job_id}`);
      await new Promise((r) => setTimeout(r, 350));
      expect(table.get('t1', res.body.job_id)).toMatchObject({ status: 'done', result: rows });
    }
  });
});

describe('jobs across the workers of a clustered API', () => {
  /** An IPC link: what one end sends, the other's listeners get (as a copy, a tick later). */
  function link(): [Channel, Channel] {
    const toA: ((m: unknown) => void)[] = [];
    const toB: ((m: unknown) => void)[] = [];
    const deliver = (ls: ((m: unknown) => void)[], m: unknown) => setImmediate(() => ls.forEach((l) => l(JSON.parse(JSON.stringify(m)))));
    return [
      { send: (m) => deliver(toB, m), on: (l) => toA.push(l) },
      { send: (m) => deliver(toA, m), on: (l) => toB.push(l) },
    ];
  }

  test("a worker finds another worker's job through the primary, for the job's tenant only", async () => {
    const limits = { budgetMs: 10, maxFiles: 10, maxJobs: 10, ttlMs: 60_000, perTenantRunning: 4 };
    const relay = createJobRelay(500);
    const tables = [new JobTable(limits, Date.now, 1), new JobTable(limits, Date.now, 2)];
    const remote = tables.map((table, i) => {
      const [worker, primary] = link();
      relay.attach(i + 1, primary);
      return serveJobLookups(worker, table, 500);
    });
    const result: JobResult = { kind: 'rows', columns: ['a'], rows: [{ a: 7 }], meta: {} };
    const job = tables[0].start('t1', 'query', 'requested', Promise.resolve(result));
    if ('refused' in job) throw new Error('refused');
    expect(job.id).toMatch(/^job_1_/);
    await Promise.resolve();
    expect(await remote[1]('t1', job.id)).toMatchObject({ id: job.id, status: 'done', result });
    expect(await remote[1]('t2', job.id)).toBeUndefined();
    expect(await remote[1]('t1', 'job_9_aaaaaaaaaaaaaaaa')).toBeUndefined();
    relay.detach(1);
    expect(await remote[1]('t1', job.id)).toBeUndefined();
  });
});
