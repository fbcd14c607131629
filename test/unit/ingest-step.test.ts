// The per-event ingestion step: validation, tenant checks, PII tokenization, outcomes as values.
import type { ApiKeyRecord } from '../../core/control';
import { DLQ_HEADERS } from '../../core/dlq';
import { createIngestStep } from '../../core/ingest-step';
import { headerString } from '../../core/kafka';
import { LAKE_HEADER } from '../../core/lake-record';
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

test('the lake record header is optional (INGEST_LAKE_HEADER): without it the same value, key and other headers', () => {
  const without = createIngestStep({ keyring, isActiveTenant: (id) => tenants.has(id), now: () => new Date('2026-11-26T10:00:00.123Z'), lakeHeader: false });
  for (const e of events.slice(0, 10)) {
    const a = step(e, 0, platformKey);
    const b = without(e, 0, platformKey);
    if (a.kind !== 'ok' || b.kind !== 'ok') throw new Error('generator events are valid');
    expect(a.message.headers).toHaveProperty([LAKE_HEADER]);
    expect(b.message.headers).not.toHaveProperty([LAKE_HEADER]);
    const { [LAKE_HEADER]: _lake, ...rest } = a.message.headers as Record<string, string>;
    expect(b.message).toEqual({ ...a.message, headers: rest });
  }
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
  expect(mismatch.message.key).toBe(events[1].tenant_id);
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

describe('hardening', () => {
  const tenantA = events[0].tenant_id;
  const keyA: ApiKeyRecord = { key_hash: 'a'.repeat(64), tenant_id: tenantA, roles: ['ingest'], label: 'a', created_at: '' };
  const platform: ApiKeyRecord = { ...platformKey, key_hash: 'f'.repeat(64) };
  const claiming = (tenant: string) => ({ ...structuredClone(events[0]), tenant_id: tenant, partition_key: `${tenant}:u1` });

  test("a tenant key's event claiming another tenant (registered or not) is tenant_mismatch, filed and keyed under the sender only", () => {
    for (const claimed of ['tenant-b-not-registered', events.find((e) => e.tenant_id !== tenantA)!.tenant_id]) {
      const out = step(claiming(claimed), 0, keyA);
      expect(out.kind === 'dlq' && out.code).toBe('tenant_mismatch');
      if (out.kind !== 'dlq') return;
      expect(out.tenantId).toBe(tenantA);
      expect(out.message.key).toBe(tenantA);
      expect(headerString(out.message.headers, DLQ_HEADERS.tenant)).toBe(tenantA);
      expect(headerString(out.message.headers, DLQ_HEADERS.senderKey)).toBe(keyA.key_hash);
      expect(headerString(out.message.headers, DLQ_HEADERS.format)).toBe('2');
    }
  });

  test('a huge or NUL-laden claimed tenant never becomes a Kafka key, a header or a counted tenant', () => {
    for (const claimed of ['x'.repeat(1_100_000), 'evil\u0000tenant', 'UPPER']) {
      for (const principal of [keyA, platform]) {
        const out = step({ ...structuredClone(events[0]), tenant_id: claimed }, 0, principal);
        expect(out.kind).toBe('dlq');
        if (out.kind !== 'dlq') return;
        const expectedKey = principal.tenant_id === '*' ? `*:${'f'.repeat(16)}` : tenantA;
        expect(out.message.key).toBe(expectedKey);
        expect(headerString(out.message.headers, DLQ_HEADERS.tenant)).toBe(principal.tenant_id);
        expect(out.tenantId).toBe(principal.tenant_id === '*' ? undefined : tenantA);
        expect(headerString(out.message.headers, DLQ_HEADERS.violations)!.length).toBeLessThan(4096);
      }
    }
  });

  test("a platform key's rejection is counted under the event's tenant only when that tenant is registered", () => {
    const bad = structuredClone(events[0]) as unknown as Record<string, Record<string, unknown>>;
    delete bad.event_metadata.event_id;
    const out = step(bad, 0, platform);
    expect(out.kind === 'dlq' && out.tenantId).toBe(events[0].tenant_id);
    const stranger = step(claiming('not-registered'), 0, platform);
    expect(stranger.kind === 'dlq' && stranger.code).toBe('unknown_tenant');
    expect(stranger.kind === 'dlq' && stranger.tenantId).toBeUndefined();
  });

  test('an event nested 10,000 deep is a structure_invalid dead letter naming the path; the exact bytes are kept', () => {
    let deep: unknown = {};
    for (let i = 0; i < 10_000; i++) deep = { d: deep };
    const event = { ...structuredClone(events[0]), extra: deep };
    const bytes = Buffer.from('{"as":"received"}');
    const out = step(event, 2, platform, () => bytes);
    expect(out.kind === 'dlq' && out.code).toBe('structure_invalid');
    if (out.kind !== 'dlq') return;
    expect(out.violations[0].path).toBe(`$.extra${'.d'.repeat(63)}`);
    expect(out.message.value).toBe(bytes);
    // Without the raw bytes the step still answers (an empty payload), never throws.
    const blind = step(event, 2, platform);
    expect(blind.kind === 'dlq' && blind.code).toBe('structure_invalid');
  });

  test('1e400 (Infinity after JSON.parse) anywhere is schema_invalid with its path, and the letter keeps the original text', () => {
    const text = JSON.stringify(events[0]).replace(/^\{/, '{"amount_extra": 1e400,');
    const raw = JSON.parse(text) as unknown;
    const out = step(raw, 0, platform, () => text);
    expect(out.kind === 'dlq' && out.code).toBe('schema_invalid');
    expect(out.kind === 'dlq' && out.violations[0].path).toBe('$.amount_extra');
    expect(out.message.value).toBe(text);
  });

  test('a __proto__ key is refused before validation', () => {
    const raw = JSON.parse(JSON.stringify(events[0]).replace(/^\{/, '{"__proto__": {"admin": true},')) as unknown;
    const out = step(raw, 0, platform);
    expect(out.kind === 'dlq' && out.code).toBe('structure_invalid');
    expect(out.kind === 'dlq' && out.violations[0].path).toBe('$.__proto__');
  });

  test('the step never throws: an exception on one event is its internal_reject dead letter, the others go through', () => {
    const [first, second] = [events[0], events.find((e) => e.tenant_id !== events[0].tenant_id)!];
    const victim = events.find((e) => e.tenant_id !== first.tenant_id && e.tenant_id !== second.tenant_id)!;
    const fragile = createIngestStep({
      keyring,
      isActiveTenant: (id) => {
        if (id === victim.tenant_id) throw new RangeError('boom');
        return tenants.has(id);
      },
    });
    const hostile = Object.defineProperty({}, 'tenant_id', {
      enumerable: true,
      get() {
        throw new Error('getter');
      },
    });
    const outs = [first, victim, hostile, second].map((e, i) => fragile(e, i, platform));
    expect(outs.map((o) => (o.kind === 'ok' ? 'ok' : o.code))).toEqual(['ok', 'internal_reject', 'internal_reject', 'ok']);
    const rejected = outs.find((o) => o.kind === 'dlq')!;
    expect(rejected.kind === 'dlq' && rejected.violations[0].path).toBe('$');
    expect(headerString(rejected.message.headers, DLQ_HEADERS.reason)).toBe('internal_reject');
  });

  test('violations are bounded: 100,000 wrong values yield at most 50 listed', () => {
    const bad = structuredClone(events[0]) as unknown as { event_data: { business_context?: unknown } };
    bad.event_data.business_context = { transaction_context: { products: Array.from({ length: 5000 }, () => ({ product_id: 7 })) } };
    const out = step(bad, 0, platform);
    expect(out.kind === 'dlq' && out.violations.length).toBeLessThanOrEqual(50);
  });

  test('an accepted event carries the registry warnings; a claimed event id is echoed only when short', () => {
    const out = step(events[3], 0, platform);
    expect(out.kind === 'ok' && Array.isArray(out.warnings)).toBe(true);
    const longId = structuredClone(events[3]) as unknown as { event_metadata: Record<string, unknown> };
    longId.event_metadata.event_id = 'x'.repeat(10_000);
    const rejected = step(longId, 0, platform);
    expect(rejected.kind === 'dlq' && rejected.eventId).toBeUndefined();
  });
});

test('the 1.0 "+01" timestamp (once a RangeError in the upcast, a 500 and a lost batch) never costs the other events', () => {
  const v10 = {
    schema_version: '1.0',
    event_id: '5f0c2a9e-1b7d-4c3e-9a4f-2d6b8e1f0a11',
    tenant_id: events[0].tenant_id,
    session_id: 's-1',
    event_type: 'page_view',
    timestamp: '2024-01-01T00:00:00+01',
    source: 'web',
  };
  const platformKey2: ApiKeyRecord = { key_hash: 'p'.repeat(64), tenant_id: '*', roles: ['ingest'], label: 'p', created_at: '' };
  const outs = [events[0], v10, events[1]].map((e, i) => step(e, i, platformKey2));
  expect(outs[0].kind).toBe('ok');
  expect(outs[2].kind).toBe('ok');
  // Rejected with a precise reason (or, had it slipped through, as internal_reject) — never thrown.
  if (outs[1].kind === 'dlq') expect(['schema_invalid', 'internal_reject']).toContain(outs[1].code);
  else expect(outs[1].kind === 'ok' && JSON.parse(outs[1].message.value as string).event_metadata.timestamp).toBe('2023-12-31T23:00:00.000000Z');
});
