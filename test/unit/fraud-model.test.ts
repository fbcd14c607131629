// The trained fraud model: training separates labelled data, the document round-trips exactly,
// the engine scores with the champion (challenger recorded only), the provider hot-swaps models
// from the champion pointer, and the drift PSI moves when the score distribution shifts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatorLabels } from '../../core/fraud-model-labels';
import type { ChampionPointer } from '../../core/fraud-model-store';
import { EventGenerator } from '../../generator/generator';
import { createFraudEngine } from '../../speed-layer/fraud/engine';
import { createDriftMonitor, histogram, psi } from '../../speed-layer/fraud/model/drift';
import { FEATURE_NAMES } from '../../speed-layer/fraud/model/features';
import { fitModel, type LabelledEvent } from '../../speed-layer/fraud/model/fit';
import { compileModel, parseModel, scoreOf, validateModelDoc, type FraudModel, type FraudModelDoc } from '../../speed-layer/fraud/model/model';
import { createFraudModelProvider, type ModelLoader } from '../../speed-layer/fraud/model/provider';
import { rocAuc } from '../../speed-layer/fraud/model/roc';
import { pickThreshold, trainModel } from '../../speed-layer/fraud/model/train';
import { ev, run } from './fraud-helpers';

/** Deterministic pseudo-random numbers (tests must not depend on Math.random). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

/** Rows where fraud shows in two features (a detector score and a count) with noise and overlap. */
function synthetic(n: number, seed: number, shift = 0): LabelledEvent[] {
  const r = lcg(seed);
  const rows: LabelledEvent[] = [];
  const card = FEATURE_NAMES.indexOf('detector.card_testing');
  const devCards = FEATURE_NAMES.indexOf('device.distinct.cards');
  for (let i = 0; i < n; i++) {
    const fraud = r() < 0.1;
    const x = FEATURE_NAMES.map(() => r() * 0.2 + shift);
    x[card] = fraud ? 0.5 + r() * 0.5 : r() * 0.4;
    x[devCards] = fraud ? 1 + r() * 2 : r() * 1.5;
    rows.push({ x, fraud, transaction: r() < 0.2, timeUs: i * 1_000_000 });
  }
  return rows;
}

const fit = (algorithm: 'logistic' | 'forest', rows = synthetic(1200, 1)) =>
  fitModel(rows, {
    train: { algorithm, seed: 3, steps: 300, trees: 10, maxSamples: 300, maxFeatures: 0.99 },
    targets: { maxFprTransactions: 0.01, minPrecision: 0.9 },
    version: `test-${algorithm}`,
    source: { synthetic: 1 },
    trainedAt: '2026-11-27T00:00:00.000Z',
  });

describe('training', () => {
  it.each(['logistic', 'forest'] as const)('%s: a model trained on a small synthetic set separates held-out rows of a different draw', (algorithm) => {
    const { doc, metrics } = fit(algorithm);
    const m = compileModel(doc);
    const test = synthetic(800, 99);
    const auc = rocAuc(
      test.filter((r) => r.fraud).map((r) => m.probability(r.x)),
      test.filter((r) => !r.fraud).map((r) => m.probability(r.x)),
    );
    expect(auc).toBeGreaterThan(0.95);
    expect(metrics.validation.auc).toBeGreaterThan(0.95);
    // the held-out slice is the newest quarter by event time
    expect(metrics.rows.validation).toBe(300);
    expect(metrics.validationRange.fromUs).toBe(900 * 1_000_000);
    expect(metrics.features).toEqual(FEATURE_NAMES);
    expect(metrics.scoreHistogram.reduce((a, b) => a + b, 0)).toBe(300);
  });

  it('refuses data without both classes', () => {
    const rows = synthetic(100, 2).map((r) => ({ ...r, fraud: false }));
    expect(() => trainModel({ x: rows.map((r) => r.x), y: rows.map(() => 0) }, { algorithm: 'logistic', seed: 1 }, 'v', 'now')).toThrow(/both fraud and legitimate/);
  });

  it('picks the lowest threshold meeting precision and FP targets, or the best F1 when none does', () => {
    const p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    const y = [1, 1, 0, 1, 0, 0];
    const tx = [true, true, true, true, true, true];
    // precision ≥ 0.75 holds down to 0.6 (3 of 4); one FP of 3 legit = 33 % allowed
    expect(pickThreshold(p, y, tx, { minPrecision: 0.75, maxFprTransactions: 0.34 })).toBe(0.6);
    // no FP allowed: only the top two qualify
    expect(pickThreshold(p, y, tx, { minPrecision: 0.75, maxFprTransactions: 0 })).toBe(0.8);
    // impossible precision: best F1 (0.6: P 0.75, R 1)
    expect(pickThreshold(p, y, tx, { minPrecision: 1.1, maxFprTransactions: 1 })).toBe(0.6);
  });
});

describe('the model document', () => {
  it.each(['logistic', 'forest'] as const)('%s: JSON round-trips exactly (same document, bit-identical probabilities)', (algorithm) => {
    const { doc } = fit(algorithm);
    const back = parseModel(JSON.stringify(doc));
    expect(back.doc).toEqual(doc);
    const m = compileModel(doc);
    for (const r of synthetic(200, 5)) expect(back.probability(r.x)).toBe(m.probability(r.x));
  });

  it('refuses a model trained on other features, or a malformed tree', () => {
    const { doc } = fit('forest');
    expect(() => validateModelDoc({ ...doc, features: [...doc.features].reverse() })).toThrow(/feature list differs/);
    const bad = JSON.parse(JSON.stringify(doc)) as FraudModelDoc & { kind: 'forest' };
    const t = bad.trees.find((tree) => tree.feature[0] >= 0)!;
    const inner = 0;
    t.left[inner] = inner; // a loop
    expect(() => validateModelDoc(bad)).toThrow(/points backwards/);
    expect(() => parseModel('{not json')).toThrow(/not JSON/);
  });

  it('maps the probability so the threshold lands on medium (0.5), monotonically', () => {
    expect(scoreOf(0.8, 0.8)).toBeCloseTo(0.5);
    expect(scoreOf(0, 0.8)).toBe(0);
    expect(scoreOf(1, 0.8)).toBeCloseTo(1);
    expect(scoreOf(0.4, 0.8)).toBeCloseTo(0.25);
    expect(scoreOf(0.81, 0.8)).toBeGreaterThan(scoreOf(0.79, 0.8));
  });
});

/** A model whose probability is a constant: easy to tell apart in verdicts. */
function constant(version: string, p: number, threshold = 0.5): FraudModel {
  const base = fit('logistic').doc;
  const doc = { ...base, version, threshold } as FraudModelDoc;
  return { ...compileModel(doc), probability: () => p };
}

describe('the engine with trained models', () => {
  it('scores with the champion, keeps the hand-set noisy-OR as fallbackScore, records the challenger without acting on it', () => {
    const recorded: string[] = [];
    const models = {
      current: () => ({ champion: constant('c1', 0.9, 0.6), challenger: constant('x1', 0.1) }),
      record: (role: string, s: { version: string }) => recorded.push(`${role}:${s.version}`),
    };
    const withModel = run([ev(), ev({ at: 1000 })], undefined, createFraudEngine({ models }));
    const without = run([ev(), ev({ at: 1000 })]);
    const v = withModel[1];
    expect(v.model).toEqual({ version: 'c1', probability: 0.9, score: scoreOf(0.9, 0.6) });
    expect(v.score).toBe(scoreOf(0.9, 0.6));
    expect(v.severity).toBe('high');
    expect(v.challenger?.version).toBe('x1');
    expect(v.fallbackScore).toBe(without[1].score);
    expect(without[1].model).toBeNull();
    expect(recorded).toEqual(['champion:c1', 'challenger:x1', 'champion:c1', 'challenger:x1']);
  });

  it('keeps the feature vector in the verdict when asked, in FEATURE_NAMES order', () => {
    const [v] = run([ev({ type: 'transaction', subtype: 'purchase', amount: 99 })], undefined, createFraudEngine({ keepFeatures: true }));
    expect(v.features).toHaveLength(FEATURE_NAMES.length);
    expect(v.features![FEATURE_NAMES.indexOf('event.transaction')]).toBe(1);
    expect(v.features![FEATURE_NAMES.indexOf('event.log_amount')]).toBeCloseTo(Math.log1p(99));
  });

  it("tells the model what kind of step the event is, how much the session browsed, and counts only logins beyond a session's first", () => {
    const engine = createFraudEngine({ keepFeatures: true });
    const at = (name: string, v: { features?: number[] }) => v.features![FEATURE_NAMES.indexOf(name)];
    const vs = run([ev({ subtype: 'login' }), ev({ at: 1e6, subtype: 'page_view' }), ev({ at: 2e6, subtype: 'login' }), ev({ at: 3e6, subtype: 'login' }), ev({ at: 4e6, type: 'transaction', subtype: 'refund', amount: 10 })], undefined, engine);
    expect(at('event.login', vs[0])).toBe(1);
    expect(at('session.repeat_logins', vs[0])).toBe(0);
    expect(at('event.browse', vs[1])).toBe(1);
    expect(at('session.browsed', vs[1])).toBeCloseTo(Math.log1p(1));
    expect(at('session.repeat_logins', vs[3])).toBeCloseTo(Math.log1p(2));
    expect(at('event.refund', vs[4])).toBe(1);
    expect(at('event.login', vs[4])).toBe(0);
  });
});

describe('the model provider', () => {
  function fakeLake() {
    const state: { pointer: ChampionPointer | undefined; fail: boolean; loads: string[] } = { pointer: undefined, fail: false, loads: [] };
    const { doc } = fit('logistic');
    const loader: ModelLoader = {
      pointer: async () => state.pointer,
      async load(version) {
        state.loads.push(version);
        if (state.fail) throw new Error('s3 down');
        return { model: compileModel({ ...doc, version }), reference: histogram([0.01, 0.02, 0.9]) };
      },
    };
    const point = (champion: string, challenger: string | null = null) => (state.pointer = { format: 1, champion, challenger, updatedAt: 'now', reason: 'test' });
    return { state, loader, point };
  }

  it('loads the champion and challenger the pointer names, swaps on change without restart, keeps the models on a failed poll', async () => {
    const lake = fakeLake();
    const p = createFraudModelProvider({ load: lake.loader });
    expect(await p.refresh()).toBe(false);
    expect(p.current()).toEqual({ champion: null, challenger: null });

    lake.point('v1');
    expect(await p.refresh()).toBe(true);
    expect(p.current().champion?.version).toBe('v1');
    expect(await p.refresh()).toBe(false); // unchanged: nothing reloaded
    expect(lake.state.loads).toEqual(['v1']);

    // an engine holding the provider sees the swap on its next event
    const engine = createFraudEngine({ models: p });
    expect(run([ev()], undefined, engine)[0].model?.version).toBe('v1');
    lake.point('v2', 'v1');
    expect(await p.refresh()).toBe(true);
    expect(p.current().champion?.version).toBe('v2');
    expect(p.current().challenger?.version).toBe('v1');
    expect(run([ev({ at: 5000 })], undefined, engine)[0].model?.version).toBe('v2');

    lake.state.fail = true;
    lake.point('v3', 'v2');
    expect(await p.refresh()).toBe(false);
    expect(p.status()).toMatchObject({ champion: 'v2', challenger: 'v1', lastError: 's3 down' });
  });

  it('never runs two polls at once', async () => {
    const lake = fakeLake();
    lake.point('v1');
    const p = createFraudModelProvider({ load: lake.loader });
    const [a, b] = await Promise.all([p.refresh(), p.refresh()]);
    expect([a, b]).toEqual([true, true]); // the same poll
    expect(lake.state.loads).toEqual(['v1']);
  });
});

describe('drift', () => {
  const draw = (n: number, seed: number, f: (u: number) => number) => {
    const r = lcg(seed);
    return Array.from({ length: n }, () => f(r()));
  };

  it('PSI stays near 0 on the same distribution and passes 0.25 on a shifted one', () => {
    const reference = histogram(draw(5000, 1, (u) => u ** 4));
    expect(psi(reference, histogram(draw(5000, 2, (u) => u ** 4)))).toBeLessThan(0.05);
    expect(psi(reference, histogram(draw(5000, 3, (u) => u ** 1.5)))).toBeGreaterThan(0.25);
  });

  it('the live monitor reports 0 until it has enough scores, then the PSI of what it saw', () => {
    const reference = histogram(draw(5000, 1, (u) => u ** 4));
    const m = createDriftMonitor(reference, 100);
    for (const p of draw(99, 4, (u) => u)) m.observe(p);
    expect(m.value()).toBe(0);
    for (const p of draw(900, 5, (u) => u)) m.observe(p);
    expect(m.value()).toBeGreaterThan(0.25);
    m.reset();
    expect(m.count).toBe(0);
  });
});

describe('generator labels for the lake', () => {
  it('joins the side file (lines counted from 1) to the events by line, skipping broken events', () => {
    const gen = new EventGenerator({ seed: 3, tenants: 3, users: 50, fraudRate: 0.3, defectRate: 0 });
    const events = Array.from({ length: 40 }, () => gen.next());
    const dir = mkdtempSync(join(tmpdir(), 'rtap-labels-'));
    const path = join(dir, 'ev.ndjson');
    writeFileSync(path, [...events.map((g) => JSON.stringify(g.event)), '{broken'].join('\n') + '\n');
    writeFileSync(`${path}.labels.ndjson`, [...events.map((g, i) => JSON.stringify({ line: i + 1, label: g.label })), JSON.stringify({ line: 41, label: { fraud: true } })].join('\n'));
    const labels = generatorLabels(path, undefined, '2026-11-27T00:00:00Z');
    expect(labels).toHaveLength(40);
    labels.forEach((l, i) => {
      expect(l).toMatchObject({ event_id: events[i].event.event_metadata.event_id, tenant_id: events[i].event.tenant_id, by: 'generator', at: '2026-11-27T00:00:00Z' });
      expect(l.label).toBe(events[i].label.fraud ? 'fraud' : 'legit');
    });
    expect(labels.some((l) => l.label === 'fraud')).toBe(true);
  });
});
