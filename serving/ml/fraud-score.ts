// POST /api/v2/ml/fraud/score (role analyst): scores one submitted event on demand with every
// detector and the ensemble, and explains the score. POST /api/v2/ml/inference/fraud: the trained
// models' own verdicts on it (champion and challenger probabilities, thresholds, the feature
// vector they saw). The event is validated by the schema registry (any supported version, upcast
// to 2.1) and must belong to the caller's tenant (serving/tenant-scope.ts).
//
// What it is scored against: the event alone. The API process holds no feature store (the speed
// layer's lives in the speed-layer instances), so each request gets a fresh one holding only this
// event, and a fresh engine (no session memory, no tenant baselines). Detectors that judge the
// event itself (tampered prices, hoarded quantities, bot signatures, billing/geo mismatch, PO-box
// billing, brand-new unverified accounts…) score as in the speed layer; those that need history
// (velocity, shared devices and cards, impossible travel, declines, refunds, baselines) cannot fire
// here. The answer says so in `state`. The models are the speed layer's: the champion and
// challenger published in the lake, hot-loaded (speed-layer/fraud/model/provider.ts). Nothing of
// the request is kept.
import express, { type Request, type Response, type Router } from 'express';
import type { ControlState } from '../../core/control';
import { measureInputFromEvent } from '../../core/measures';
import { readEvent, type RtapEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { createFeatureStore } from '../../speed-layer/features/store';
import { createFraudEngine, entityFeatures, type FraudModelSource, type FraudVerdict, type ModelScore } from '../../speed-layer/fraud/engine';
import { FEATURE_NAMES } from '../../speed-layer/fraud/model/features';
import { signalsFromEvent } from '../../core/fraud-signals';
import { sendError } from '../errors';

export interface FraudScoreRouteDeps {
  control: ControlState;
  /** The published champion and challenger (absent or empty: the hand-set weights score alone). */
  models?: Pick<FraudModelSource, 'current'>;
}

export const ON_DEMAND_STATE = 'event_only: scored against a fresh feature store and no tenant baselines (history-based detectors cannot fire on demand; the speed layer scores with full state)';
/** What set the score when no trained model is published yet. */
export const FALLBACK_MODEL = 'hand-set noisy-OR weights (no trained model published yet: rtap fraud train)';

const round = (x: number) => Math.round(x * 1000) / 1000;

export function fraudScoreRouter(deps: FraudScoreRouteDeps): Router {
  const router = express.Router();
  // on-demand scores are not the live traffic the drift monitors compare with: only `current` is passed
  const models = deps.models ? { current: () => deps.models!.current() } : undefined;

  /** The request's event, validated and of the caller's tenant, or an error answered. */
  const eventOf = (req: Request, res: Response): RtapEvent | undefined => {
    const read = readEvent(req.body);
    if (!read.ok) {
      sendError(res, 400, 'invalid_event', read.reason.message, read.reason.violations.slice(0, 20).map((v) => ({ path: v.path, reason: v.reason })));
      return undefined;
    }
    if (read.event.tenant_id !== req.tenant) {
      sendError(res, 403, 'forbidden', 'the event belongs to another tenant than this key acts for', [{ path: '$.tenant_id', reason: 'not the tenant of this request' }]);
      return undefined;
    }
    return read.event;
  };

  /** The event scored by a fresh engine (see the top of this file for what it holds). */
  const score = (event: RtapEvent, keepFeatures: boolean): FraudVerdict => {
    const input = measureInputFromEvent(event, { partition: 0, offset: 0 });
    const store = createFeatureStore({ maxEntities: 16 });
    if (input.ok) store.update({ input: input.input, entities: entityIdsFromEvent(event) });
    const view = signalsFromEvent(event);
    return createFraudEngine({ models, keepFeatures }).score(view, entityFeatures(view, store.get.bind(store)));
  };

  router.post('/api/v2/ml/fraud/score', (req, res) => {
    const started = process.hrtime.bigint();
    const event = eventOf(req, res);
    if (!event) return;
    const verdict = score(event, false);
    res.json({
      event_id: verdict.eventId,
      tenant_id: verdict.tenant,
      score: round(verdict.score),
      severity: verdict.severity,
      explanation: verdict.explanation,
      top_reasons: verdict.reasons.map((r) => ({ detector: r.id, family: r.family, score: round(r.score), explanation: r.explanation })),
      detectors: verdict.detectors.map((d) => ({ detector: d.id, family: d.family, score: round(d.score), weight: d.weight, explanation: d.explanation, evidence: d.evidence })),
      state: ON_DEMAND_STATE,
      model: verdict.model ? `trained model ${verdict.model.version}` : FALLBACK_MODEL,
      fallback_score: round(verdict.fallbackScore),
      scoring_ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  });

  router.post('/api/v2/ml/inference/fraud', (req, res) => {
    const started = process.hrtime.bigint();
    // a bad request is a 4xx whether or not a model is published
    const event = eventOf(req, res);
    if (!event) return;
    const loaded = models?.current();
    if (!loaded?.champion) {
      res.setHeader('Retry-After', '60');
      return sendError(res, 503, 'model_unavailable', 'no trained fraud model is published yet (rtap fraud train, or the daily rtap-fraud-train-daily schedule); POST /api/v2/ml/fraud/score scores with the hand-set weights meanwhile');
    }
    const verdict = score(event, true);
    const describe = (s: ModelScore | null, threshold: number | undefined) =>
      s === null ? null : { version: s.version, probability: round(s.probability), threshold: threshold === undefined ? null : round(threshold), flagged: threshold !== undefined && s.probability >= threshold, score: round(s.score) };
    res.json({
      event_id: verdict.eventId,
      tenant_id: verdict.tenant,
      champion: describe(verdict.model, loaded.champion.threshold),
      challenger: describe(verdict.challenger, loaded.challenger?.threshold),
      features: Object.fromEntries(FEATURE_NAMES.map((name, i) => [name, round(verdict.features?.[i] ?? 0)])),
      state: ON_DEMAND_STATE,
      inference_ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  });
  return router;
}
