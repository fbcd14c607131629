// The fraud engine: per event, fold it into the short memory, run every enabled detector with the
// tenant's parameters, combine the scores (ensemble.ts), then teach the baselines the event's
// values — after scoring, so no detector compares an event with a baseline that already holds it.
// One engine per speed-layer instance (or per evaluation run, or one fresh per on-demand request);
// all of its state is keyed by tenant, and per-tenant overrides (enabled, weight, parameters) take
// effect on the next event.
import type { EntityKind, FeatureSnapshot } from '../features/store';
import { createBaselines, type BaselineOptions, type Baselines } from './baseline';
import type { Detector, DetectorFeatures, EntityFeatures, Params } from './detector';
import { DETECTORS } from './detectors';
import { combine, DEFAULT_WEIGHT, DEFAULT_WEIGHTS, SEVERITY_THRESHOLDS, severityOf, type DetectorScore, type EnsembleResult, type Severity } from './ensemble';
import { createFraudMemory, type FraudMemory, type MemoryOptions } from './memory';
import { featureVector } from './model/features';
import { scoreOf, type FraudModel } from './model/model';
import { createRetroTracker, type Implication, type RetroOptions, type RetroTracker, type TravelParams } from './retro';
import type { FraudEvent } from '../../core/fraud-signals';

/** Where the engine gets its trained models from (model/provider.ts polls the lake's champion pointer). */
export interface FraudModelSource {
  current(): { champion: FraudModel | null; challenger: FraudModel | null };
  /** Each model verdict, for drift monitoring (model/provider.ts). */
  record?(role: 'champion' | 'challenger', score: ModelScore): void;
}

/** A trained model's verdict on the event. */
export interface ModelScore {
  version: string;
  probability: number;
  /** The probability on the ensemble's scale (the model's threshold at 0.5, `medium`). */
  score: number;
}

export interface DetectorOverride {
  enabled?: boolean;
  weight?: number;
  params?: Partial<Params>;
}

export interface FraudEngineOptions {
  detectors?: readonly Detector[];
  /** Ensemble weights by detector id (default DEFAULT_WEIGHTS). */
  weights?: Readonly<Record<string, number>>;
  thresholds?: Readonly<Record<Severity, number>>;
  baselines?: BaselineOptions;
  memory?: MemoryOptions;
  /** Reasons kept in a verdict. Default 3. */
  top?: number;
  /** Trained models: when a champion is loaded its probability is the score (the noisy-OR of the weights is the fallback). */
  models?: FraudModelSource;
  /** Keep each event's model feature vector in the verdict (training, evaluation). */
  keepFeatures?: boolean;
  /**
   * Retroactive flagging on impossible travel (retro.ts): its bounds, and `minScore`, the verdict
   * score from which a trigger implicates the other end (default the `low` severity's; the speed
   * layer emits only implications at or above its anomaly threshold). false: off.
   */
  retroactive?: (RetroOptions & { minScore?: number }) | false;
}

export interface FraudVerdict extends EnsembleResult {
  tenant: string;
  eventId: string;
  /** Every detector that had something to say (score may be 0), in DETECTORS order. */
  detectors: DetectorScore[];
  /** The top reasons' sentences, strongest first. */
  explanation: string;
  /** The hand-set weights' noisy-OR: the score when no model is loaded. */
  fallbackScore: number;
  /** The champion model's verdict (it set `score`), or null when none is loaded. */
  model: ModelScore | null;
  /** The challenger's verdict: recorded beside the champion's, never acted on. */
  challenger: ModelScore | null;
  /** The model's feature vector (only with keepFeatures). */
  features?: number[];
  /** Earlier events of the account this event implicates (impossible travel; retro.ts). Absent when none. */
  retroactive?: Implication[];
}

export interface FraudEngine {
  readonly detectors: readonly Detector[];
  /** Scores one event (and remembers it). `features`: the feature store's snapshots of its entities, the event included. */
  score(event: FraudEvent, features: EntityFeatures): FraudVerdict;
  /**
   * Folds an event into the memory and baselines without scoring it: rebuilding the engine's
   * state by replaying events already scored before a restart (speed-layer/fraud/processor.ts).
   */
  learn(event: FraudEvent, features: EntityFeatures): void;
  /** Sets (or with null clears) a tenant's override of one detector. */
  setOverride(tenant: string, detectorId: string, override: DetectorOverride | null): void;
  /** The parameters a detector runs with for a tenant. */
  paramsFor(tenant: string, detectorId: string): Params;
  readonly baselines: Baselines;
  readonly memory: FraudMemory;
  /** The retroactive tracker (null when off). */
  readonly retro: RetroTracker | null;
}

/** The feature store's snapshots of an event's entities, from any `get` (a store or the processor's merged view). */
export function entityFeatures(e: FraudEvent, get: (kind: EntityKind, tenant: string, id?: string) => FeatureSnapshot | undefined): EntityFeatures {
  const t = e.tenant;
  return {
    user: e.userId ? get('user', t, e.userId) : undefined,
    card: e.card ? get('card', t, e.card) : undefined,
    device: e.device ? get('device', t, e.device) : undefined,
    geo: e.country ? get('geo', t, e.city ? `${e.country}/${e.city}` : e.country) : undefined,
    tenant: get('tenant', t),
  };
}

export function createFraudEngine(opts: FraudEngineOptions = {}): FraudEngine {
  const detectors = opts.detectors ?? DETECTORS;
  const ids = new Set(detectors.map((d) => d.id));
  if (ids.size !== detectors.length) throw new RangeError('fraud engine: duplicate detector ids');
  const weights = opts.weights ?? DEFAULT_WEIGHTS;
  const thresholds = opts.thresholds ?? SEVERITY_THRESHOLDS;
  const top = opts.top ?? 3;
  const baselines = createBaselines(opts.baselines);
  const memory = createFraudMemory(opts.memory);
  const retro = opts.retroactive === false ? null : createRetroTracker(opts.retroactive);
  const retroMin = (opts.retroactive ? opts.retroactive.minScore : undefined) ?? thresholds.low;
  /** tenant → detector id → override */
  const overrides = new Map<string, Map<string, DetectorOverride>>();
  /** tenant\0id → merged params (cleared when that tenant's overrides change) */
  const paramCache = new Map<string, Params>();

  const byId = new Map(detectors.map((d) => [d.id, d]));
  function paramsFor(tenant: string, id: string): Params {
    const d = byId.get(id);
    if (!d) throw new RangeError(`unknown detector ${JSON.stringify(id)}`);
    const o = overrides.get(tenant)?.get(id)?.params;
    if (!o) return d.defaults;
    const key = `${tenant}\u0000${id}`;
    let p = paramCache.get(key);
    if (!p) {
      p = { ...d.defaults };
      for (const [k, v] of Object.entries(o)) if (k in d.defaults && typeof v === 'number' && Number.isFinite(v)) p[k] = v;
      paramCache.set(key, p);
    }
    return p;
  }

  // one value per metric and entity, even when several detectors read the same baseline
  function observe(event: FraudEvent, features: DetectorFeatures): void {
    const samples = new Map<string, { metric: string; value: number; entity?: string }>();
    for (const d of detectors) for (const s of d.observe?.(event, features) ?? []) samples.set(`${s.metric}\u0000${s.entity ?? ''}`, s);
    for (const s of samples.values()) baselines.observe(event.tenant, s.metric, s.value, s.entity);
  }

  return {
    detectors,
    baselines,
    learn(event, entity) {
      observe(event, { ...entity, context: memory.update(event) });
      // its verdict before the restart is not known: replayed events may be implicated again
      retro?.remember(event, 0);
    },
    memory,
    retro,
    paramsFor,
    setOverride(tenant, id, override) {
      if (!byId.has(id)) throw new RangeError(`unknown detector ${JSON.stringify(id)}`);
      let m = overrides.get(tenant);
      if (override === null) m?.delete(id);
      else {
        if (!m) overrides.set(tenant, (m = new Map()));
        m.set(id, override);
      }
      paramCache.delete(`${tenant}\u0000${id}`);
    },
    score(event, entity) {
      const features: DetectorFeatures = { ...entity, context: memory.update(event) };
      const t = event.tenant;
      const tenantOverrides = overrides.get(t);
      const scores: DetectorScore[] = [];
      for (const d of detectors) {
        const o = tenantOverrides?.get(d.id);
        if (o?.enabled === false) continue;
        const r = d.score(event, features, baselines, paramsFor(t, d.id));
        if (!r) continue;
        const score = Number.isFinite(r.score) ? Math.min(1, Math.max(0, r.score)) : 0;
        scores.push({ id: d.id, family: d.family, score, weight: o?.weight ?? weights[d.id] ?? DEFAULT_WEIGHT, explanation: r.explanation, evidence: r.evidence });
      }
      observe(event, features);
      const ensemble = combine(scores, top, thresholds);
      const { champion, challenger } = opts.models?.current() ?? { champion: null, challenger: null };
      const vector = champion || challenger || opts.keepFeatures ? featureVector(event, features, scores) : undefined;
      const judge = (m: FraudModel | null): ModelScore | null => {
        if (!m || !vector) return null;
        const probability = m.probability(vector);
        return { version: m.version, probability, score: scoreOf(probability, m.threshold) };
      };
      const model = judge(champion);
      const challenged = judge(challenger);
      if (model) opts.models?.record?.('champion', model);
      if (challenged) opts.models?.record?.('challenger', challenged);
      const score = model ? model.score : ensemble.score;
      let implicated: Implication[] | undefined;
      if (retro) {
        retro.remember(event, score);
        const travel = scores.find((d) => d.id === 'impossible_travel');
        if (travel && score >= retroMin) {
          const found = retro.implicate(event, score, travel.score, paramsFor(t, 'impossible_travel') as unknown as TravelParams);
          if (found.length > 0) implicated = found;
        }
      }
      return {
        score,
        severity: model ? severityOf(score, thresholds) : ensemble.severity,
        reasons: ensemble.reasons,
        tenant: t,
        eventId: event.eventId,
        detectors: scores,
        explanation: ensemble.reasons.map((r) => `${r.id}: ${r.explanation}`).join(' | '),
        fallbackScore: ensemble.score,
        model,
        challenger: challenged,
        ...(opts.keepFeatures && vector ? { features: vector } : {}),
        ...(implicated ? { retroactive: implicated } : {}),
      };
    },
  };
}
