// POST /api/v2/events/batch and POST /api/v2/data/quality/validate.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { IngestConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { dlqMessage } from '../../core/dlq';
import { BackpressureError, type BatchingProducer } from '../../core/batching-producer';
import { TOPICS } from '../../core/kafka';
import { requireRole } from '../auth';
import { sendError } from '../errors';
import { ingestMetrics } from './metrics';
import type { EventOutcome, IngestStep } from '../../core/ingest-step';

export interface IngestRouteDeps {
  cfg: IngestConfig;
  control: ControlState;
  step: IngestStep;
  producer: BatchingProducer;
  /** Topic names; the data contract's `events` / `events.dlq` unless a test isolates itself. */
  topics?: { events: string; dlq: string };
}

/** What the caller learns about each event, in request order. */
type EventResult =
  | { index: number; event_id?: string; status: 'accepted' }
  | { index: number; event_id?: string; status: 'rejected'; error: string; details: { path: string; reason: string }[] };

export function ingestRouter({ cfg, control, step, producer, topics = { events: TOPICS.events, dlq: TOPICS.eventsDlq } }: IngestRouteDeps): Router {
  const router = express.Router();
  const parseJson = express.json({ limit: cfg.maxRequestBytes, type: () => true });

  router.post('/api/v2/events/batch', requireRole(control, 'ingest'), jsonBody(parseJson, { producer, dlqTopic: topics.dlq }), async (req, res) => {
    const started = performance.now();
    const events = envelope(req, res, cfg);
    if (!events) return;
    const outcomes = events.map((raw, i) => step(raw, i, req.principal!));
    const messages = outcomes.map((o) => ({ topic: o.kind === 'ok' ? topics.events : topics.dlq, message: o.message }));
    try {
      ingestMetrics.queueBytes.set(producer.bytesQueued);
      await producer.send(messages);
    } catch (err) {
      if (err instanceof BackpressureError) {
        ingestMetrics.requests.inc({ status: 503 });
        res.setHeader('Retry-After', String(err.retryAfterSec));
        return sendError(
          res,
          503,
          'kafka_unavailable',
          `${err.message}; none of this request's events were accepted — retry after ${err.retryAfterSec}s (retrying is safe: events are deduplicated by event_id)`,
        );
      }
      throw err;
    }
    const results = outcomes.map(toResult);
    const accepted = outcomes.filter((o) => o.kind === 'ok').length;
    countOutcomes(outcomes);
    const status = accepted === outcomes.length ? 200 : accepted === 0 ? 422 : 207;
    ingestMetrics.requests.inc({ status });
    ingestMetrics.requestMs.observe(performance.now() - started);
    res.status(status).json({ accepted, rejected: outcomes.length - accepted, results });
  });

  router.post('/api/v2/data/quality/validate', requireRole(control, 'ingest'), jsonBody(parseJson), (req, res) => {
    const events = envelope(req, res, cfg);
    if (!events) return;
    const results = events.map((raw, i) => toResult(step(raw, i, req.principal!)));
    const valid = results.filter((r) => r.status === 'accepted').length;
    res.json({ valid, invalid: results.length - valid, results: results.map((r) => (r.status === 'accepted' ? { ...r, status: 'valid' } : { ...r, status: 'invalid' })) });
  });

  return router;
}

/**
 * Parses the JSON body with the size bound. Malformed JSON is a 400 naming the position; when a
 * producer is given, the unparseable body is also kept in the DLQ so nothing sent is lost.
 */
function jsonBody(parse: express.RequestHandler, dlq?: { producer: BatchingProducer; dlqTopic: string }) {
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; message?: string; body?: string; limit?: number; length?: number };
      if (e.type === 'entity.too.large') {
        return sendError(res, 413, 'payload_too_large', `request body of ${e.length} bytes exceeds the limit of ${e.limit} bytes (INGEST_MAX_BYTES)`);
      }
      if (e.type === 'entity.parse.failed') {
        const respond = () => sendError(res, 400, 'malformed_json', `request body is not valid JSON: ${e.message}`, [{ path: '$', reason: e.message ?? 'invalid JSON' }]);
        if (!dlq || e.body === undefined) return respond();
        const principal = req.principal!;
        const message = dlqMessage({
          payload: e.body,
          reason: 'malformed_json',
          violations: [{ path: '$', reason: e.message ?? 'invalid JSON' }],
          source: 'api',
          tenant: principal.tenant_id === '*' ? undefined : principal.tenant_id,
        });
        dlq.producer.send([{ topic: dlq.dlqTopic, message }]).then(respond, () => {
          res.setHeader('Retry-After', '5');
          sendError(res, 503, 'kafka_unavailable', 'request body is not valid JSON and could not be kept in the dead-letter topic; retry later');
        });
        return;
      }
      if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported') return sendError(res, 415, 'unsupported_encoding', e.message ?? 'unsupported encoding');
      next(err);
    });
  };
}

/** The `{ "events": [...] }` envelope, or a 4xx already sent. */
function envelope(req: Request, res: Response, cfg: IngestConfig): unknown[] | undefined {
  const body: unknown = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    sendError(res, 400, 'invalid_envelope', 'the body must be a JSON object {"events": [...]}', [{ path: '$', reason: 'must be an object' }]);
    return undefined;
  }
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) {
    sendError(res, 400, 'invalid_envelope', 'the body must carry an "events" array', [{ path: '$.events', reason: events === undefined ? 'is required' : 'must be an array' }]);
    return undefined;
  }
  if (events.length === 0) {
    sendError(res, 400, 'invalid_envelope', '"events" is empty', [{ path: '$.events', reason: 'must hold at least one event' }]);
    return undefined;
  }
  if (events.length > cfg.maxEventsPerRequest) {
    sendError(res, 413, 'too_many_events', `${events.length} events in one request; the limit is ${cfg.maxEventsPerRequest} (INGEST_MAX_EVENTS)`, [
      { path: '$.events', reason: `must hold at most ${cfg.maxEventsPerRequest} events` },
    ]);
    return undefined;
  }
  return events;
}

function toResult(o: EventOutcome): EventResult {
  return o.kind === 'ok'
    ? { index: o.index, event_id: o.eventId, status: 'accepted' }
    : { index: o.index, event_id: o.eventId, status: 'rejected', error: o.code, details: o.violations };
}

function countOutcomes(outcomes: EventOutcome[]): void {
  for (const o of outcomes) {
    if (o.kind === 'ok') ingestMetrics.events.inc({ outcome: 'accepted' });
    else {
      ingestMetrics.events.inc({ outcome: 'rejected' });
      ingestMetrics.rejected.inc({ reason: o.code, tenant: o.tenantId ?? 'unknown' });
    }
  }
}
