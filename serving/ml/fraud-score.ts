// POST /api/v2/ml/fraud/score (role read): scores one submitted event on demand with every
// detector and the ensemble, and explains the score. The event is validated by the schema
// registry (any supported version, upcast to 2.1) and must belong to the caller's tenant
// (serving/tenant-scope.ts).
//
// What it is scored against: the event alone. The API process holds no feature store (the speed
// layer's lives in the speed-layer instances), so each request gets a fresh one holding only this
// event, and a fresh engine (no session memory, no tenant baselines). Detectors that judge the
// event itself (tampered prices, hoarded quantities, bot signatures, billing/geo mismatch, PO-box
// billing, brand-new unverified accounts…) score as in the speed layer; those that need history
// (velocity, shared devices and cards, impossible travel, declines, refunds, baselines) cannot fire
// here. The answer says so in `state`. Nothing of the request is kept.
import express, { type Router } from 'express';
import type { ControlState } from '../../core/control';
import { measureInputFromEvent } from '../../core/measures';
import { readEvent } from '../../core/schema';
import { entityIdsFromEvent } from '../../core/speed-record';
import { createFeatureStore } from '../../speed-layer/features/store';
import { createFraudEngine, entityFeatures } from '../../speed-layer/fraud/engine';
import { signalsFromEvent } from '../../speed-layer/fraud/signals';
import { sendError } from '../errors';

export interface FraudScoreRouteDeps {
  control: ControlState;
}

export const ON_DEMAND_STATE = 'event_only: scored against a fresh feature store and no tenant baselines (history-based detectors cannot fire on demand; the speed layer scores with full state)';
export const SCORING_MODEL = 'hand-set noisy-OR weights (fallback until the trained model of issue 11)';

export function fraudScoreRouter(_deps: FraudScoreRouteDeps): Router {
  const router = express.Router();
  router.post('/api/v2/ml/fraud/score', (req, res) => {
    const started = process.hrtime.bigint();
    const read = readEvent(req.body);
    if (!read.ok) return sendError(res, 400, 'invalid_event', read.reason.message, read.reason.violations.slice(0, 20).map((v) => ({ path: v.path, reason: v.reason })));
    const event = read.event;
    if (event.tenant_id !== req.tenant) return sendError(res, 403, 'forbidden', 'the event belongs to another tenant than this key acts for', [{ path: '$.tenant_id', reason: 'not the tenant of this request' }]);
    const input = measureInputFromEvent(event, { partition: 0, offset: 0 });
    const store = createFeatureStore({ maxEntities: 16 });
    if (input.ok) store.update({ input: input.input, entities: entityIdsFromEvent(event) });
    const view = signalsFromEvent(event);
    const verdict = createFraudEngine().score(view, entityFeatures(view, store.get.bind(store)));
    const round = (x: number) => Math.round(x * 1000) / 1000;
    res.json({
      event_id: verdict.eventId,
      tenant_id: verdict.tenant,
      score: round(verdict.score),
      severity: verdict.severity,
      explanation: verdict.explanation,
      top_reasons: verdict.reasons.map((r) => ({ detector: r.id, family: r.family, score: round(r.score), explanation: r.explanation })),
      detectors: verdict.detectors.map((d) => ({ detector: d.id, family: d.family, score: round(d.score), weight: d.weight, explanation: d.explanation, evidence: d.evidence })),
      state: ON_DEMAND_STATE,
      model: SCORING_MODEL,
      scoring_ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  });
  return router;
}
