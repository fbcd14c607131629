// Per-event ingestion step: check the structure, validate (every schema version, upcast to 2.1),
// check the tenant, tokenize PII, and build the Kafka message. Outcomes are values: `ok` goes to
// `events`, `dlq` goes to `events.dlq` with its reason. The step never throws: anything that fails
// unexpectedly on one event becomes that event's `internal_reject` dead letter, and the other
// events of the batch go on. Pure apart from the clock, so it is unit-tested alone.
import type { Message } from 'kafkajs';
import type { ApiKeyRecord } from './control';
import { boundViolations, dlqMessage, type DlqSender } from './dlq';
import type { RtapConfig } from './config';
import { checkStructure, EVENT_LIMITS, type StructureLimits } from './json-guard';
import { createLogger, type Logger } from './logger';
import { loadPiiKeyring, tokenizeEvent, type PiiKeyring } from './pii';
import { readEvent, toMicrosIso, type RtapEvent, type ValueWarning, type Violation } from './schema';
import { encodeLakeHeader, LAKE_HEADER } from './lake-record';
import { encodeFraudHeader, FRAUD_HEADER, signalsFromEvent } from './fraud-signals';
import { encodeValidSpeedHeader, SPEED_HEADER } from './speed-record';

export type EventOutcome =
  | { kind: 'ok'; index: number; eventId: string; tenantId: string; message: Message; warnings: ValueWarning[] }
  | {
      kind: 'dlq';
      index: number;
      /** The event id the payload claims, when it is a short string (echoed to the caller only). */
      eventId?: string;
      /**
       * The registered tenant this rejection is counted under: the sending key's tenant, or for a
       * platform key the tenant the event names when that tenant is registered. Never an
       * unchecked string from the payload, so it is safe as a metric label.
       */
      tenantId?: string;
      code: string;
      violations: Violation[];
      message: Message;
    };

export interface IngestStepDeps {
  keyring: PiiKeyring;
  /** Whether a tenant is registered and active. */
  isActiveTenant: (tenantId: string) => boolean;
  now?: () => Date;
  /** Who writes the dead letters: the API, or `rtap dlq replay` re-submitting them. */
  source?: 'api' | 'replay';
  /** Largest serialized event accepted (INGEST_MAX_EVENT_BYTES). */
  maxEventBytes?: number;
  /** Structural limits checked before validation (core/json-guard.ts). */
  limits?: StructureLimits;
  /**
   * Whether accepted events carry the lake record header (`x-rtap-l`, INGEST_LAKE_HEADER; on by
   * default). Without it the lake sink extracts the columns from the JSON in DuckDB instead: the
   * same Parquet, more CPU in the sink and less in the API (docs/ingestion.md, "Performance").
   */
  lakeHeader?: boolean;
  log?: Logger;
}

/**
 * `rawBytes`, when given, returns the exact bytes the event was received as (its slice of the
 * request body, or the dead letter being replayed): dead letters keep those, so what is kept is
 * what was sent (a `1e400` stays `1e400`) and nothing rejected is ever serialized again.
 */
export type IngestStep = (raw: unknown, index: number, principal: IngestSender, rawBytes?: RawBytes) => EventOutcome;

/**
 * Who sends the events, as authenticated: the tenant they write for (`*`: the tenant each event
 * names) and, as `key_hash`, the credential's id (an API key's id or a JWT's subject; the key hash
 * in dead letters of older versions), which files its dead letters.
 */
export type IngestSender = Pick<ApiKeyRecord, 'tenant_id' | 'key_hash'>;

export type RawBytes = () => Buffer | string | undefined;

/** Longest Kafka key the step produces (the schema bounds partition_key; this is the last line). */
export const MAX_PARTITION_KEY_BYTES = 1024;
/** Longest claimed event id echoed back in a per-event result. */
const MAX_ECHOED_ID = 128;

/**
 * The Kafka key of an accepted event: `tenant_id:` + the (tokenized) user id, else the anonymous
 * id, else the session id. Built by the server from validated, bounded fields rather than taken
 * from the client's `partition_key` (kept in the event as sent): every event of a user lands in
 * one partition, which per-user session windows and the duplicate rule (same tenant + event id →
 * same partition) rely on, whatever key a client computes.
 */
export function kafkaKeyOf(event: RtapEvent): string {
  const uc = event.event_data.user_context;
  return `${event.tenant_id}:${uc.user_id ?? uc.anonymous_id ?? uc.session_data.session_id}`;
}

export function senderOf(principal: IngestSender): DlqSender {
  return { tenant: principal.tenant_id, keyHash: principal.key_hash };
}

export function createIngestStep({
  keyring,
  isActiveTenant,
  now = () => new Date(),
  source = 'api',
  maxEventBytes = 1024 * 1024,
  limits = EVENT_LIMITS,
  lakeHeader = true,
  log = createLogger('ingest-step'),
}: IngestStepDeps): IngestStep {
  // The events of one request share their receive time to the millisecond: its two spellings
  // (ISO for dead letters, UTC µs for ingestion_timestamp) are made once per millisecond.
  let lastMs = Number.NaN;
  let receivedAt = '';
  let ingestionTimestamp = '';

  /** A rejection: built only off the hot path, so accepted events allocate no closures for it. */
  const reject = (raw: unknown, index: number, principal: IngestSender, rawBytes: RawBytes | undefined, code: string, violations: Violation[]): EventOutcome => {
    const bounded = boundViolations(violations);
    return {
      kind: 'dlq',
      index,
      eventId: claimedEventId(raw),
      tenantId: countedTenant(raw, principal, isActiveTenant),
      code,
      violations: bounded,
      message: dlqMessage({ payload: payloadOf(raw, rawBytes), reason: code, violations: bounded, source, sender: senderOf(principal), receivedAt }),
    };
  };

  return (raw, index, principal, rawBytes) => {
    const clock = now();
    if (clock.getTime() !== lastMs) {
      lastMs = clock.getTime();
      receivedAt = clock.toISOString();
      ingestionTimestamp = toMicrosIso(receivedAt);
    }

    try {
      const problem = checkStructure(raw, limits);
      if (problem) return reject(raw, index, principal, rawBytes, problem.kind === 'number' ? 'schema_invalid' : 'structure_invalid', [{ path: problem.path, reason: problem.reason }]);

      const read = readEvent(raw);
      if (!read.ok) return reject(raw, index, principal, rawBytes, read.reason.code, read.reason.violations);
      const event = read.event;
      // A tenant's key may only write its own tenant: checked first, so such a key learns nothing
      // about which other tenants exist.
      if (principal.tenant_id !== '*' && principal.tenant_id !== event.tenant_id) {
        return reject(raw, index, principal, rawBytes, 'tenant_mismatch', [
          { path: '$.tenant_id', reason: `this API key writes for tenant ${quote(principal.tenant_id)}, not ${quote(event.tenant_id)}` },
        ]);
      }
      if (!isActiveTenant(event.tenant_id)) {
        return reject(raw, index, principal, rawBytes, 'unknown_tenant', [{ path: '$.tenant_id', reason: `tenant ${quote(event.tenant_id)} is not registered or not active` }]);
      }
      const tokenized = tokenizeEvent(event, keyring);
      // The server is the authority on ingestion time.
      const stamped = { ...tokenized, event_metadata: { ...tokenized.event_metadata, ingestion_timestamp: ingestionTimestamp } };
      const key = kafkaKeyOf(stamped);
      // UTF-8 takes at most 3 bytes per UTF-16 unit: most keys are measured by their length alone.
      if (key.length * 3 > MAX_PARTITION_KEY_BYTES && Buffer.byteLength(key) > MAX_PARTITION_KEY_BYTES) {
        return reject(raw, index, principal, rawBytes, 'schema_invalid', [{ path: '$.partition_key', reason: `the Kafka key would be longer than ${MAX_PARTITION_KEY_BYTES} bytes` }]);
      }
      // Kept a string: encoding it to a Buffer here (to measure it once and keep it off the heap)
      // cost the API ~10 µs of CPU per event more than it saved, measured (docs/ingestion.md).
      const value = JSON.stringify(stamped);
      if (value.length * 3 > maxEventBytes) {
        const size = Buffer.byteLength(value);
        if (size > maxEventBytes) {
          return reject(raw, index, principal, rawBytes, 'event_too_large', [{ path: '$', reason: `the event is ${size} bytes; the limit is ${maxEventBytes} (INGEST_MAX_EVENT_BYTES)` }]);
        }
      }
      // What the speed layer reads, so it need not parse the value (core/speed-record.ts; the fraud
      // scorer's other fields: core/fraud-signals.ts), and the lake's flat columns, so the lake
      // sink need not extract them in DuckDB (core/lake-record.ts).
      const speed = encodeValidSpeedHeader(stamped);
      const lake = lakeHeader ? encodeLakeHeader(stamped) : undefined;
      const headers: Record<string, string> = { schema_version: stamped.schema_version, 'x-rtap-source-version': read.sourceVersion };
      if (speed !== undefined) {
        headers[SPEED_HEADER] = speed;
        headers[FRAUD_HEADER] = encodeFraudHeader(signalsFromEvent(stamped));
      }
      if (lake !== undefined) headers[LAKE_HEADER] = lake;
      return {
        kind: 'ok',
        index,
        eventId: stamped.event_metadata.event_id,
        tenantId: stamped.tenant_id,
        message: { key, value, headers },
        warnings: read.warnings,
      };
    } catch (err) {
      // A bug on one event's path must cost that event a dead letter, never the batch.
      const violations = [{ path: '$', reason: 'the event could not be processed because of an internal error; it is kept in the dead-letter topic' }];
      try {
        log.error({ err, index, tenant: principal.tenant_id }, 'ingestion step failed on an event; it is dead-lettered as internal_reject');
        return reject(raw, index, principal, rawBytes, 'internal_reject', violations);
      } catch {
        const message = dlqMessage({ payload: '', reason: 'internal_reject', violations, source, sender: senderOf(principal), receivedAt });
        return { kind: 'dlq', index, code: 'internal_reject', violations, message };
      }
    }
  };
}

/** The tenant a rejection is counted under: authenticated and registered, nothing else. */
function countedTenant(raw: unknown, principal: IngestSender, isActiveTenant: (tenantId: string) => boolean): string | undefined {
  if (principal.tenant_id !== '*') return principal.tenant_id;
  const claimed = claimedTenant(raw);
  return claimed !== undefined && isActiveTenant(claimed) ? claimed : undefined;
}

/** The exact received bytes when known, else the parsed value serialized (safe: callers check structure first). */
function payloadOf(raw: unknown, rawBytes?: RawBytes): Buffer | string {
  try {
    const exact = rawBytes?.();
    if (exact !== undefined) return exact;
  } catch {
    // fall back to serializing
  }
  try {
    return JSON.stringify(raw) ?? 'null';
  } catch {
    // Too deep or otherwise unserializable, with no raw bytes to keep: the letter says so.
    return '';
  }
}

function field(raw: unknown, ...path: string[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function claimedEventId(raw: unknown): string | undefined {
  const id = field(raw, 'event_metadata', 'event_id') ?? field(raw, 'event_id');
  return typeof id === 'string' && id.length <= MAX_ECHOED_ID ? id : undefined;
}

/** The tenant a payload names, only when it could be a registered tenant id (at most 64 characters). */
function claimedTenant(raw: unknown): string | undefined {
  const tenant = field(raw, 'tenant_id');
  return typeof tenant === 'string' && tenant.length <= 64 ? tenant : undefined;
}

/** JSON-quoted, at most 80 characters of it: messages never carry a payload's long strings. */
function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** The PII key of the local stack only; any external deployment must set PII_KEYS itself. */
const LOCAL_PII_KEYS = 'v1:rtap-local-pii-key-not-for-production';

export function resolvePiiKeyring(cfg: RtapConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): PiiKeyring {
  if (!env.PII_KEYS && cfg.kafka.local) {
    log.warn('PII_KEYS is not set: using the local development key (set PII_KEYS in any real deployment)');
    return loadPiiKeyring({ ...env, PII_KEYS: LOCAL_PII_KEYS });
  }
  return loadPiiKeyring(env);
}
