// The analyst's side of fraud scoring: detector rules (GET /api/v2/anomalies/rules, PUT
// /api/v2/anomalies/rules/{rule_id}), feedback on verdicts (POST /api/v2/anomalies/feedback/{id})
// and incidents (GET /api/v2/anomalies/incidents). Rules and feedback are records of the compacted
// `control` topic (speed-layer/fraud/rules.ts, core/fraud-feedback.ts): the running speed layer
// follows the topic and applies a rule on its next event, and the next training run reads the
// feedback. Incidents are grouped from this process's tail of the `anomalies` topic by the
// incident id the speed layer gave each anomaly. Roles and the tenant come from the security gate
// (serving/auth.ts, serving/security/access.ts).
import express, { type Router } from 'express';
import type { ControlState } from '../../core/control';
import { FEEDBACK_EVENT_ID_PATTERN, feedbackKey, MAX_COMMENT_LENGTH, type FeedbackLabel, type FraudFeedback } from '../../core/fraud-feedback';
import { DETECTORS } from '../../speed-layer/fraud/detectors';
import { SEVERITIES } from '../../speed-layer/fraud/ensemble';
import { ruleKey, ruleViews, validateRule, type FraudRuleRecord } from '../../speed-layer/fraud/rules';
import { sendError } from '../errors';
import { windowParams } from './routes';
import type { Anomaly, AnomalyTail } from './tail';

export interface AnomalyControlDeps {
  control: ControlState;
  /** Writes control records and applies them to `control` at once (core/control.ts ControlPlane.write). */
  write(records: { key: string; value: object | null }[]): Promise<void>;
  anomalies: AnomalyTail;
  now?: () => number;
}

export interface IncidentRow {
  incident_id: string;
  first_detected_at: string;
  last_detected_at: string;
  anomalies: number;
  max_score: number | null;
  max_severity: string | null;
  detectors: string[];
  entities: string[];
  anomaly_ids: string[];
}

const MAX_INCIDENT_ANOMALY_IDS = 20;

/** The tenant's anomalies grouped by incident (an anomaly without one is its own), most recently active first. */
export function groupIncidents(anomalies: readonly Anomaly[], limit: number): IncidentRow[] {
  const byId = new Map<string, IncidentRow & { firstMs: number; lastMs: number }>();
  const rank = (s: string | null) => (s === null ? -1 : SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]));
  for (const a of anomalies) {
    const id = a.incident_id ?? a.anomaly_id;
    let row = byId.get(id);
    if (!row) {
      row = { incident_id: id, first_detected_at: a.detected_at, last_detected_at: a.detected_at, firstMs: a.detected_ms, lastMs: a.detected_ms, anomalies: 0, max_score: null, max_severity: null, detectors: [], entities: [], anomaly_ids: [] };
      byId.set(id, row);
    }
    row.anomalies += 1;
    if (a.detected_ms < row.firstMs) [row.firstMs, row.first_detected_at] = [a.detected_ms, a.detected_at];
    if (a.detected_ms > row.lastMs) [row.lastMs, row.last_detected_at] = [a.detected_ms, a.detected_at];
    if (a.score !== null && (row.max_score === null || a.score > row.max_score)) row.max_score = a.score;
    if (rank(a.severity) > rank(row.max_severity)) row.max_severity = a.severity;
    for (const d of a.detectors) if (!row.detectors.includes(d)) row.detectors.push(d);
    for (const e of a.entities) if (!row.entities.includes(e)) row.entities.push(e);
    if (row.anomaly_ids.length < MAX_INCIDENT_ANOMALY_IDS) row.anomaly_ids.push(a.anomaly_id);
  }
  return [...byId.values()]
    .sort((a, b) => b.lastMs - a.lastMs)
    .slice(0, limit)
    .map(({ firstMs: _f, lastMs: _l, ...row }) => row);
}

export function anomalyControlRouter(deps: AnomalyControlDeps): Router {
  const router = express.Router();
  const now = deps.now ?? Date.now;

  router.get('/api/v2/anomalies/rules', (req, res) => {
    const tenant = req.tenant!;
    res.json({ data: ruleViews(deps.control, tenant), meta: { tenant_id: tenant, source: 'control topic (fraudrule records); the speed layer applies a change on its next event' } });
  });

  router.put('/api/v2/anomalies/rules/:rule_id', (req, res, next) => {
    (async () => {
      const tenant = req.tenant!;
      const ruleId = req.params.rule_id;
      const detector = DETECTORS.find((d) => d.id === ruleId);
      if (!detector) return sendError(res, 404, 'not_found', `no rule ${JSON.stringify(ruleId)}`, [{ path: '/rule_id', reason: `one of ${DETECTORS.map((d) => d.id).join(', ')}` }]);
      const valid = validateRule(detector, req.body);
      if (!valid.ok) return sendError(res, 400, 'invalid_request', valid.details.map((d) => `${d.path}: ${d.reason}`).join('; '), valid.details);
      const record: FraudRuleRecord = { tenant_id: tenant, rule_id: ruleId, enabled: valid.enabled, parameters: valid.parameters, updated_at: new Date(now()).toISOString(), updated_by: req.principal?.id ?? 'unknown' };
      await deps.write([{ key: ruleKey(tenant, ruleId), value: record }]);
      const view = ruleViews(deps.control, tenant, [detector])[0];
      res.json({ data: view, meta: { tenant_id: tenant, note: 'stored in the control topic; each speed-layer instance applies it on the next event it scores' } });
    })().catch(next);
  });

  router.post('/api/v2/anomalies/feedback/:anomaly_id', (req, res, next) => {
    (async () => {
      const tenant = req.tenant!;
      // an anomaly id is `<event id>:fraud`; an event id alone is accepted too (feedback on an event never flagged: a missed fraud)
      const id = req.params.anomaly_id;
      const eventId = id.endsWith(':fraud') ? id.slice(0, -':fraud'.length) : id;
      if (!FEEDBACK_EVENT_ID_PATTERN.test(eventId)) return sendError(res, 400, 'invalid_request', '/anomaly_id: not an anomaly or event id', [{ path: '/anomaly_id', reason: `expected <event id>[:fraud], event id ${FEEDBACK_EVENT_ID_PATTERN}` }]);
      const body = (req.body ?? {}) as { label?: unknown; comment?: unknown };
      const details: { path: string; reason: string }[] = [];
      if (body.label !== 'fraud' && body.label !== 'legit') details.push({ path: '/label', reason: "expected 'fraud' or 'legit'" });
      if (body.comment !== undefined && (typeof body.comment !== 'string' || body.comment.length > MAX_COMMENT_LENGTH)) details.push({ path: '/comment', reason: `a string of at most ${MAX_COMMENT_LENGTH} characters` });
      if (details.length > 0) return sendError(res, 400, 'invalid_request', details.map((d) => `${d.path}: ${d.reason}`).join('; '), details);
      const feedback: FraudFeedback = { event_id: eventId, tenant_id: tenant, label: body.label as FeedbackLabel, by: req.principal?.id ?? 'unknown', at: new Date(now()).toISOString(), ...(typeof body.comment === 'string' ? { comment: body.comment } : {}) };
      await deps.write([{ key: feedbackKey(tenant, eventId), value: feedback }]);
      const known = deps.anomalies.recent(tenant, 0, 1000).some((a) => a.event_id === eventId);
      res.status(201).json({ data: feedback, meta: { anomaly_known: known, note: 'stored in the control topic (latest label of an event wins); used by the next training run' } });
    })().catch(next);
  });

  router.get('/api/v2/anomalies/incidents', (req, res) => {
    const w = windowParams(req.query, { minutes: 24 * 60, limit: 100 });
    if ('reason' in w) return sendError(res, 400, 'invalid_request', `${w.path}: ${w.reason}`, [w]);
    // every record of the window (the tail keeps at most its per-tenant bound), grouped
    const recent = deps.anomalies.recent(req.tenant!, now() - w.minutes * 60_000, Number.MAX_SAFE_INTEGER);
    const data = groupIncidents(recent, w.limit);
    res.json({ data, meta: { window_minutes: w.minutes, anomalies: recent.length, caught_up: deps.anomalies.caughtUp, source_topic: deps.anomalies.topic } });
  });

  return router;
}
