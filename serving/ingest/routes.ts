// POST /api/v2/events/batch and POST /api/v2/data/quality/validate.
//
// Hostile input is answered, never crashed on: a non-JSON Content-Type is a 415, a broken
// Content-Encoding a 400 (an unknown one a 415), a body nested deeper than an event may be is a
// 400 naming the path before JSON.parse ever sees it, and every event is checked structurally
// (core/json-guard.ts) before validation. Dead letters are filed under the authenticated sender
// and keep the exact bytes received (the request body's slice for each event).
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { IngestConfig } from '../../core/config';
import type { ControlState } from '../../core/control';
import { dlqMessage } from '../../core/dlq';
import { BackpressureError, type BatchingProducer } from '../../core/batching-producer';
import { EVENT_LIMITS, elementRanges, pathAt, scanDepth } from '../../core/json-guard';
import { TOPICS } from '../../core/kafka';
import { createLogger } from '../../core/logger';
import type { ValueWarning } from '../../core/schema';
import { clientError, sendError } from '../errors';
import { ingestMetrics, reasonLabel, tenantLabel, warningFieldLabel } from './metrics';
import { ACCEPTED_EVENTS_LOCAL, acceptedByTenant } from '../security/limits';
import { senderOf, type EventOutcome, type IngestSender, type IngestStep } from '../../core/ingest-step';

export interface IngestRouteDeps {
  cfg: IngestConfig;
  control: ControlState;
  step: IngestStep;
  producer: BatchingProducer;
  /** Topic names; the data contract's `events` / `events.dlq` unless a test isolates itself. */
  topics?: { events: string; dlq: string };
}

/** A data-quality warning as the caller sees it (an accepted event's unknown descriptive value). */
interface WarningResult {
  path: string;
  field: string;
  value: string;
  reason: string;
}

/** What the caller learns about each event, in request order. */
type EventResult =
  | { index: number; event_id?: string; status: 'accepted'; warnings?: WarningResult[] }
  | { index: number; event_id?: string; status: 'rejected'; error: string; details: { path: string; reason: string }[] };

/** The request body as received (after Content-Encoding), kept by the JSON parser's verify hook. */
interface RawBodyRequest extends Request {
  rawBody?: Buffer;
}

/** Nesting allowed in a request body: `{"events": [ <event> ] }` adds two levels to an event's. */
const MAX_BODY_DEPTH = EVENT_LIMITS.maxDepth + 2;
/** Warnings listed per event in a response (all are counted). */
const MAX_WARNINGS_SHOWN = 50;

export function ingestRouter({ cfg, step, producer, topics = { events: TOPICS.events, dlq: TOPICS.eventsDlq } }: IngestRouteDeps): Router {
  const log = createLogger('ingest-api');
  const router = express.Router();
  // Content-Type is checked by `acceptJson` first, so the parser reads every body that reaches it.
  const parseJson = express.json({ limit: cfg.maxRequestBytes, type: () => true, verify: keepRawBody });

  router.post(
    '/api/v2/events/batch',
    countRequest,
    acceptJson,
    jsonBody(parseJson, { producer, dlqTopic: topics.dlq }),
    async (req: RawBodyRequest, res) => {
      const outcomes = await stepRequest(req, res, cfg, step);
      if (!outcomes) return;
      const messages = outcomes.map((o) => ({ topic: o.kind === 'ok' ? topics.events : topics.dlq, message: o.message }));
      try {
        ingestMetrics.queueBytes.set(producer.bytesQueued);
        await producer.send(messages);
      } catch (err) {
        if (err instanceof BackpressureError) {
          // The cause (a Kafka error's text) goes to the log, not to the client.
          log.warn({ err }, 'events not accepted: Kafka did not take them in time');
          res.setHeader('Retry-After', String(err.retryAfterSec));
          return sendError(
            res,
            503,
            'kafka_unavailable',
            `Kafka did not take the events in time; none of this request's events were accepted — retry after ${err.retryAfterSec}s (retrying is safe: events are deduplicated by event_id)`,
          );
        }
        throw err;
      }
      const results = outcomes.map(toResult);
      const accepted = outcomes.filter((o) => o.kind === 'ok').length;
      countOutcomes(outcomes);
      // counted against each tenant's events_per_day once the answer is sent (serving/security/limits.ts)
      res.locals[ACCEPTED_EVENTS_LOCAL] = acceptedByTenant(outcomes);
      const status = accepted === outcomes.length ? 200 : accepted === 0 ? 422 : 207;
      res.status(status).json({ accepted, rejected: outcomes.length - accepted, results });
    },
  );

  router.post('/api/v2/data/quality/validate', acceptJson, jsonBody(parseJson), async (req: RawBodyRequest, res) => {
    const outcomes = await stepRequest(req, res, cfg, step);
    if (!outcomes) return;
    const results = outcomes.map(toResult);
    const valid = results.filter((r) => r.status === 'accepted').length;
    res.json({ valid, invalid: results.length - valid, results: results.map((r) => (r.status === 'accepted' ? { ...r, status: 'valid' } : { ...r, status: 'invalid' })) });
  });

  // Anything these routes throw that carries a 4xx status (a stream error of the body parser, say)
  // is answered with it; the rest goes to the app's final handler, which answers a generic 500.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const known = clientError(err);
    if (known) return sendError(res, known.status, known.error, known.message);
    next(err);
  });

  return router;
}

function keepRawBody(req: Request, _res: Response, buf: Buffer): void {
  (req as RawBodyRequest).rawBody = buf;
  const at = scanDepth(buf, MAX_BODY_DEPTH);
  if (at >= 0) {
    throw Object.assign(new Error(`the body nests deeper than ${MAX_BODY_DEPTH} levels`), { type: 'entity.too.deep', status: 400, path: pathAt(buf, at) });
  }
}

/** `rtap_ingest_requests_total{status}` and the latency histogram, for every answer of the batch route. */
function countRequest(_req: Request, res: Response, next: NextFunction): void {
  const started = performance.now();
  res.once('finish', () => {
    ingestMetrics.requests.inc({ status: res.statusCode });
    ingestMetrics.requestMs.observe(performance.now() - started);
  });
  next();
}

/** `application/json` or any `application/<x>+json`, with or without a UTF-8 charset. */
const JSON_MEDIA_TYPE = /^application\/(?:[a-z0-9!#$&^_.-]+\+)?json$/;

/**
 * 415 for a Content-Type that is not JSON (or a JSON one in a charset other than UTF-8, RFC 8259).
 * A request without Content-Type is read as JSON: the body is parsed strictly either way.
 */
export function acceptJson(req: Request, res: Response, next: NextFunction): void {
  const header = req.headers['content-type'];
  if (header === undefined || header.trim() === '') return next();
  const [type, ...params] = header.split(';');
  const mediaType = type.trim().toLowerCase();
  if (!JSON_MEDIA_TYPE.test(mediaType)) {
    return sendError(res, 415, 'unsupported_media_type', `Content-Type ${JSON.stringify(clip(mediaType, 100))} is not accepted: send application/json`);
  }
  for (const param of params) {
    const eq = param.indexOf('=');
    if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    const charset = param.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8') {
      return sendError(res, 415, 'unsupported_charset', `charset ${JSON.stringify(clip(charset, 40))} is not accepted: JSON is sent as UTF-8`);
    }
  }
  next();
}

/**
 * Parses the JSON body with the size bound, and answers every failure with a precise 4xx:
 * malformed JSON is a 400 naming the position, a body nested too deep a 400 naming the path —
 * and when a producer is given, both bodies are kept in the DLQ (exact bytes, filed under the
 * sender) so nothing sent is lost.
 */
function jsonBody(parse: express.RequestHandler, dlq?: { producer: BatchingProducer; dlqTopic: string }) {
  return (req: RawBodyRequest, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (!err) return next();
      const e = err as { type?: string; message?: string; body?: unknown; limit?: number; length?: number; path?: string };
      if (e.type === 'entity.parse.failed' || e.type === 'entity.too.deep') {
        const malformed = e.type === 'entity.parse.failed';
        const detail = malformed
          ? { path: '$', reason: clip(e.message ?? 'invalid JSON', 300) }
          : { path: e.path ?? '$', reason: `nested deeper than ${MAX_BODY_DEPTH} levels (an event may nest at most ${EVENT_LIMITS.maxDepth})` };
        const respond = () =>
          malformed
            ? sendError(res, 400, 'malformed_json', `request body is not valid JSON: ${detail.reason}`, [detail])
            : sendError(res, 400, 'structure_invalid', `request body nests deeper than an event may (${detail.path})`, [detail]);
        const payload = req.rawBody ?? (typeof e.body === 'string' ? e.body : undefined);
        if (!dlq || payload === undefined) return respond();
        const message = dlqMessage({
          payload,
          reason: malformed ? 'malformed_json' : 'structure_invalid',
          violations: [detail],
          source: 'api',
          sender: senderOf(ingestSender(req)),
        });
        dlq.producer.send([{ topic: dlq.dlqTopic, message }]).then(respond, () => {
          res.setHeader('Retry-After', '5');
          sendError(res, 503, 'kafka_unavailable', 'the request body could not be read and could not be kept in the dead-letter topic either; retry later');
        });
        return;
      }
      const encoding = req.headers['content-encoding'];
      const known = clientError(err, encoding !== undefined && encoding.trim().toLowerCase() !== 'identity');
      if (known) return sendError(res, known.status, known.error, known.message);
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
  const events = Object.hasOwn(body, 'events') ? (body as { events?: unknown }).events : undefined;
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

/**
 * The step over every event of the request (or undefined, a 4xx already sent). Then the request
 * lets go of its body: the outcomes carry all that is still needed, and the parsed events (several
 * MB per request) would otherwise stay reachable while the request waits for Kafka, to be copied
 * by every young-generation collection meanwhile.
 */
/** The sender the gate authenticated: its tenant scope ('*' for a platform ingest credential) and its credential id. */
function ingestSender(req: Request): IngestSender {
  return { tenant_id: req.tenant!, key_hash: req.principal!.id };
}

async function stepRequest(req: RawBodyRequest, res: Response, cfg: IngestConfig, step: IngestStep): Promise<EventOutcome[] | undefined> {
  const events = envelope(req, res, cfg);
  if (!events) return undefined;
  const principal = ingestSender(req);
  const exact = eventBytes(req, events.length);
  const outcomes = await runSteps(events.length, (i) => step(events[i], i, principal, () => exact(i)));
  req.body = undefined;
  req.rawBody = undefined;
  return outcomes;
}

/** Event-loop time one request may hold before letting other work run (timers, other requests). */
const STEP_SLICE_MS = 10;

/**
 * Runs the step over a request's events, yielding to the event loop every STEP_SLICE_MS: a batch
 * of expensive events (each one bounded by the structural limits) delays other requests by one
 * slice at most, never by the whole batch.
 */
async function runSteps(count: number, run: (i: number) => EventOutcome): Promise<EventOutcome[]> {
  const outcomes: EventOutcome[] = new Array<EventOutcome>(count);
  let sliceStart = performance.now();
  for (let i = 0; i < count; i++) {
    outcomes[i] = run(i);
    if (performance.now() - sliceStart > STEP_SLICE_MS && i + 1 < count) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return outcomes;
}

/**
 * The exact bytes of event `i` in the request body, located on first use (only requests with a
 * rejected event pay for the scan); undefined when they cannot be located.
 */
function eventBytes(req: RawBodyRequest, count: number): (i: number) => Buffer | undefined {
  let ranges: [number, number][] | null | undefined;
  return (i) => {
    const body = req.rawBody;
    if (!body) return undefined;
    if (ranges === undefined) {
      const found = elementRanges(body, 'events');
      ranges = found && found.length === count ? found : null;
    }
    const range = ranges?.[i];
    return range ? Buffer.from(body.subarray(range[0], range[1])) : undefined;
  };
}

function toResult(o: EventOutcome): EventResult {
  if (o.kind === 'dlq') return { index: o.index, event_id: o.eventId, status: 'rejected', error: o.code, details: o.violations };
  return o.warnings.length > 0
    ? { index: o.index, event_id: o.eventId, status: 'accepted', warnings: o.warnings.slice(0, MAX_WARNINGS_SHOWN).map(toWarning) }
    : { index: o.index, event_id: o.eventId, status: 'accepted' };
}

function toWarning(w: ValueWarning): WarningResult {
  return { path: clip(w.path, 512), field: clip(w.field, 64), value: clip(w.value, 64), reason: clip(w.reason, 512) };
}

function countOutcomes(outcomes: EventOutcome[]): void {
  let accepted = 0;
  for (const o of outcomes) {
    if (o.kind === 'ok') {
      accepted++;
      for (const w of o.warnings) ingestMetrics.warnings.inc({ field: warningFieldLabel(w.field), tenant: tenantLabel(o.tenantId) });
    } else {
      ingestMetrics.rejected.inc({ reason: reasonLabel(o.code), tenant: tenantLabel(o.tenantId) });
    }
  }
  // Once per request, not per event: prom-client hashes the label set on every call.
  if (accepted > 0) ingestMetrics.events.inc({ outcome: 'accepted' }, accepted);
  if (accepted < outcomes.length) ingestMetrics.events.inc({ outcome: 'rejected' }, outcomes.length - accepted);
}

function clip(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max)}…` : s;
}
