// Per-event ingestion step: validate (every schema version, upcast to 2.1), check the tenant,
// tokenize PII, and build the Kafka message. Outcomes are values: `ok` goes to `events`, `dlq`
// goes to `events.dlq` with its reason. Pure apart from the clock, so it is unit-tested alone.
import type { Message } from 'kafkajs';
import type { ApiKeyRecord } from './control';
import { dlqMessage } from './dlq';
import type { RtapConfig } from './config';
import type { Logger } from './logger';
import { loadPiiKeyring, tokenizeEvent, type PiiKeyring } from './pii';
import { readEvent, toMicrosIso, type Violation } from './schema';

export type EventOutcome =
  | { kind: 'ok'; index: number; eventId: string; tenantId: string; message: Message }
  | { kind: 'dlq'; index: number; eventId?: string; tenantId?: string; code: string; violations: Violation[]; message: Message };

export interface IngestStepDeps {
  keyring: PiiKeyring;
  /** Whether a tenant is registered and active. */
  isActiveTenant: (tenantId: string) => boolean;
  now?: () => Date;
  /** Who writes the dead letters: the API, or `rtap dlq replay` re-submitting them. */
  source?: 'api' | 'replay';
  /** Largest serialized event accepted (INGEST_MAX_EVENT_BYTES). */
  maxEventBytes?: number;
}

export type IngestStep = (raw: unknown, index: number, principal: ApiKeyRecord) => EventOutcome;

export function createIngestStep({ keyring, isActiveTenant, now = () => new Date(), source = 'api', maxEventBytes = 1024 * 1024 }: IngestStepDeps): IngestStep {
  return (raw, index, principal) => {
    const receivedAt = now().toISOString();
    const reject = (code: string, violations: Violation[], tenantId?: string): EventOutcome => ({
      kind: 'dlq',
      index,
      eventId: claimedEventId(raw),
      tenantId,
      code,
      violations,
      message: dlqMessage({
        payload: JSON.stringify(raw) ?? 'null',
        reason: code,
        violations,
        source,
        tenant: tenantId ?? (principal.tenant_id === '*' ? undefined : principal.tenant_id),
        receivedAt,
      }),
    });

    const read = readEvent(raw);
    if (!read.ok) return reject(read.reason.code, read.reason.violations, claimedTenant(raw));
    const event = read.event;
    if (!isActiveTenant(event.tenant_id)) {
      return reject('unknown_tenant', [{ path: '$.tenant_id', reason: `tenant ${JSON.stringify(event.tenant_id)} is not registered or not active` }], event.tenant_id);
    }
    if (principal.tenant_id !== '*' && principal.tenant_id !== event.tenant_id) {
      return reject(
        'tenant_mismatch',
        [{ path: '$.tenant_id', reason: `this API key writes for tenant ${JSON.stringify(principal.tenant_id)}, not ${JSON.stringify(event.tenant_id)}` }],
        principal.tenant_id,
      );
    }
    const tokenized = tokenizeEvent(event, keyring);
    // The server is the authority on ingestion time.
    const stamped = { ...tokenized, event_metadata: { ...tokenized.event_metadata, ingestion_timestamp: toMicrosIso(receivedAt) } };
    const value = JSON.stringify(stamped);
    const size = Buffer.byteLength(value);
    if (size > maxEventBytes) {
      return reject('event_too_large', [{ path: '$', reason: `the event is ${size} bytes; the limit is ${maxEventBytes} (INGEST_MAX_EVENT_BYTES)` }], event.tenant_id);
    }
    return {
      kind: 'ok',
      index,
      eventId: stamped.event_metadata.event_id,
      tenantId: stamped.tenant_id,
      message: {
        key: stamped.partition_key,
        value,
        headers: { schema_version: stamped.schema_version, 'x-rtap-source-version': read.sourceVersion },
      },
    };
  };
}

function field(raw: unknown, ...path: string[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function claimedEventId(raw: unknown): string | undefined {
  const id = field(raw, 'event_metadata', 'event_id') ?? field(raw, 'event_id');
  return typeof id === 'string' ? id : undefined;
}

function claimedTenant(raw: unknown): string | undefined {
  const tenant = field(raw, 'tenant_id');
  return typeof tenant === 'string' ? tenant : undefined;
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
