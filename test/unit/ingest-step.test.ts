// The per-event ingestion step: validation, tenant checks, PII tokenization, outcomes as values.
import type { ApiKeyRecord } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { createIngestStep } from '../../core/ingest-step';
import { headerString } from '../../core/kafka';
import { TOKEN_PATTERN, createKeyring, tokenize } from '../../core/pii';
import type { RtapEvent } from '../../core/schema';
import { EventGenerator } from '../../generator/generator';

const keyring = createKeyring({ v1: 'unit-test-secret-0123456789' }, 'v1');
const gen = new EventGenerator({ seed: 11, tenants: 20, users: 500, fraudRate: 0, defectRate: 0, lateRate: 0 });
const events: RtapEvent[] = Array.from({ length: 50 }, () => structuredClone(gen.next().event));
const tenants = new Set(events.map((e) => e.tenant_id));
const step = createIngestStep({ keyring, isActiveTenant: (id) => tenants.has(id), now: () => new Date('2026-11-26T10:00:00.123Z') });
const platformKey: ApiKeyRecord = { key_hash: 'h', tenant_id: '*', roles: ['ingest'], label: 't', created_at: '' };

test('a valid event is accepted, keyed by tenant:token, with PII tokenized and ingestion time stamped', () => {
  const withUser = events.find((e) => e.event_data.user_context.user_id)!;
  const originalUser = withUser.event_data.user_context.user_id!;
  const out = step(withUser, 3, platformKey);
  expect(out.kind).toBe('ok');
  if (out.kind !== 'ok') return;
  const written = JSON.parse(out.message.value as string) as RtapEvent;
  const expectedToken = TOKEN_PATTERN.test(originalUser) ? originalUser : tokenize(originalUser, 'user', keyring);
  expect(written.event_data.user_context.user_id).toBe(expectedToken);
  expect(out.message.key).toBe(`${withUser.tenant_id}:${expectedToken}`);
  expect(JSON.stringify(written)).not.toContain(`"${originalUser}"`);
  expect(written.event_metadata.ingestion_timestamp).toBe('2026-11-26T10:00:00.123000Z');
  expect(out.message.headers).toMatchObject({ schema_version: '2.1', 'x-rtap-source-version': '2.1' });
  expect(out.eventId).toBe(withUser.event_metadata.event_id);
  expect(out.index).toBe(3);
});

test('a schema violation goes to the DLQ with every violation path and the original payload', () => {
  const bad = structuredClone(events[0]) as unknown as Record<string, Record<string, unknown>>;
  bad.event_metadata.timestamp = 12345;
  delete bad.event_metadata.event_id;
  const out = step(bad, 0, platformKey);
  expect(out.kind).toBe('dlq');
  if (out.kind !== 'dlq') return;
  expect(out.code).toBe('schema_invalid');
  const paths = out.violations.map((v) => v.path);
  expect(paths).toEqual(expect.arrayContaining(['$.event_metadata.timestamp', '$.event_metadata.event_id']));
  expect(headerString(out.message.headers, DLQ_HEADERS.reason)).toBe('schema_invalid');
  expect(JSON.parse(headerString(out.message.headers, DLQ_HEADERS.violations)!)).toEqual(out.violations);
  expect(JSON.parse(out.message.value as string)).toEqual(bad);
});

test('an unknown schema version, an unknown tenant and a foreign tenant are each rejected with their reason', () => {
  const future = { ...structuredClone(events[1]), schema_version: '9.0' };
  const unknownVersion = step(future, 0, platformKey);
  expect(unknownVersion.kind === 'dlq' && unknownVersion.code).toBe('unknown_version');

  const stranger = { ...structuredClone(events[1]), tenant_id: 'nobody-here' };
  stranger.partition_key = `nobody-here:${stranger.partition_key.split(':')[1]}`;
  const unknownTenant = step(stranger, 0, platformKey);
  expect(unknownTenant.kind === 'dlq' && unknownTenant.code).toBe('unknown_tenant');
  expect(unknownTenant.kind === 'dlq' && unknownTenant.violations[0].path).toBe('$.tenant_id');

  const other = events.find((e) => e.tenant_id !== events[1].tenant_id)!;
  const tenantKey: ApiKeyRecord = { ...platformKey, tenant_id: events[1].tenant_id };
  const mismatch = step(other, 0, tenantKey);
  expect(mismatch.kind === 'dlq' && mismatch.code).toBe('tenant_mismatch');
  // The dead letter is filed under the tenant that sent it, never the one it claimed.
  expect(mismatch.kind === 'dlq' && headerString(mismatch.message.headers, DLQ_HEADERS.tenant)).toBe(events[1].tenant_id);
});

test('non-object payloads are dead letters, not crashes', () => {
  for (const raw of [null, 42, 'text', [1, 2]]) {
    const out = step(raw, 0, platformKey);
    expect(out.kind).toBe('dlq');
  }
});

test('an event above the size limit is rejected as event_too_large, before it can fail a shared Kafka send', () => {
  const small = createIngestStep({ keyring, isActiveTenant: (id) => tenants.has(id), maxEventBytes: 2048 });
  // Additional properties are allowed (forward compatibility), so only the size can reject this.
  const big = { ...structuredClone(events[0]), padding: 'x'.repeat(4096) };
  const out = small(big, 0, platformKey);
  expect(out.kind === 'dlq' && out.code).toBe('event_too_large');
  expect(out.kind === 'dlq' && out.violations[0].reason).toMatch(/the limit is 2048/);
  // The same event fits the default limit: the check is about size, nothing else.
  expect(step(big, 0, platformKey).kind).toBe('ok');
});
