// Control-plane state (tenants and API keys for now) kept in the compacted `control` topic and
// materialized in every process that needs it, the way Confluent's schema registry keeps
// `_schemas`: no extra database. Records are keyed `tenant/<id>` and `apikey/<sha256 of key>`;
// a null value (tombstone) deletes. API keys are stored only as hashes.
import { createHash, randomBytes } from 'node:crypto';
import type { Consumer, Kafka, Producer } from 'kafkajs';
import { InputError, RtapError } from './errors';
import { MAX_RETENTION_DAYS } from './gdpr';
import { TOPICS } from './kafka';
import type { Logger } from './logger';

/** Roles a credential may carry (docs/api.md "Roles"); the access table (serving/security/access.ts) maps routes to them. */
export const ROLES = ['viewer', 'analyst', 'admin', 'platform-admin', 'ingest'] as const;
export type Role = (typeof ROLES)[number];
/** Roles found in records written before viewer/analyst existed: `read` reads as viewer + analyst. */
export type LegacyRole = 'read';

export interface TenantRecord {
  tenant_id: string;
  name: string;
  status: 'active' | 'suspended';
  created_at: string;
  /** Days the tenant's events are kept in the lake; absent = kept until erased (docs/gdpr.md "Retention"). */
  retention_days?: number;
}

export interface ApiKeyRecord {
  key_hash: string;
  /** Public id of the key (shown, logged, audited; the secret never is); stable across rotations. Absent in old records: see keyIdOf. */
  key_id?: string;
  /** The tenant the key acts for, or `*` for a platform key that may act for any registered tenant. */
  tenant_id: string;
  /** As stored: old records may hold `read` (upcastRoles). */
  roles: (Role | LegacyRole)[];
  label: string;
  created_at: string;
  /** The key stops authenticating at this instant (ISO-8601); absent = no expiry. */
  expires_at?: string;
  /** Set when the key was revoked; a revoked key never authenticates again. */
  revoked_at?: string;
}

/** The key id of a record; old records without one get an id derived from their hash, stable across processes. */
export function keyIdOf(record: Pick<ApiKeyRecord, 'key_id' | 'key_hash'>): string {
  return record.key_id ?? `key_${record.key_hash.slice(0, 16)}`;
}

/** Roles as they are enforced: `read` (old records) → viewer + analyst; duplicates and unknown names dropped. */
export function upcastRoles(stored: readonly string[]): Role[] {
  const out = new Set<Role>();
  for (const r of stored) {
    if (r === 'read') {
      out.add('viewer');
      out.add('analyst');
    } else if ((ROLES as readonly string[]).includes(r)) out.add(r as Role);
  }
  return [...out];
}

/** Whether the key may authenticate at `nowMs`: not revoked, not expired. */
export function keyUsable(record: ApiKeyRecord, nowMs: number): boolean {
  if (record.revoked_at !== undefined) return false;
  return record.expires_at === undefined || Date.parse(record.expires_at) > nowMs;
}

/** Tenant ids: lowercase letters, digits, `_` and `-`, 1–64 characters (they appear in lake paths). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Every API key starts with this, which tells a bearer API key from a JWT. */
export const API_KEY_PREFIX = 'rtap_';

export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/** A consistent in-memory view of the control topic. */
export class ControlState {
  readonly tenants = new Map<string, TenantRecord>();
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  /** Records of kinds other modules own (e.g. `fraudrule/…`, speed-layer/fraud/rules.ts): kind → id → JSON text. */
  private readonly others = new Map<string, Map<string, string>>();
  private readonly listeners = new Set<(kind: string, id: string, value: string | null) => void>();

  apply(key: string, value: Buffer | null): void {
    const slash = key.indexOf('/');
    const kind = key.slice(0, slash);
    const id = key.slice(slash + 1);
    const map = kind === 'tenant' ? this.tenants : kind === 'apikey' ? this.apiKeys : undefined;
    if (!map) return slash > 0 ? this.applyOther(kind, id, value === null ? null : value.toString('utf8')) : undefined;
    if (value === null) map.delete(id);
    else (map as Map<string, unknown>).set(id, JSON.parse(value.toString('utf8')));
  }

  /** Other modules' records: kept as text, and told to whoever listens, so the owning module parses them. */
  private applyOther(kind: string, id: string, value: string | null): void {
    let m = this.others.get(kind);
    if (!m) this.others.set(kind, (m = new Map()));
    if (value === null) m.delete(id);
    else m.set(id, value);
    for (const l of this.listeners) l(kind, id, value);
  }

  /** The records of another module's kind held now (id → JSON text). */
  records(kind: string): ReadonlyMap<string, string> {
    return this.others.get(kind) ?? new Map();
  }

  /** Called with every other-kind record applied from now on; returns the unsubscribe. */
  onRecord(listener: (kind: string, id: string, value: string | null) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The key's record, or undefined when the key is unknown, revoked or expired at `nowMs`. */
  authenticate(apiKey: string, nowMs: number = Date.now()): ApiKeyRecord | undefined {
    const record = this.apiKeys.get(hashApiKey(apiKey));
    return record && keyUsable(record, nowMs) ? record : undefined;
  }

  /** Every stored secret of a key id (two during a rotation's grace), newest first. */
  keyRecords(keyId: string): ApiKeyRecord[] {
    return [...this.apiKeys.values()].filter((r) => keyIdOf(r) === keyId).sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  activeTenant(tenantId: string): TenantRecord | undefined {
    const tenant = this.tenants.get(tenantId);
    return tenant?.status === 'active' ? tenant : undefined;
  }

  /** Tenant → retention days, for every tenant with a policy (suspended ones too: their data ages all the same). */
  retentionPolicies(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.tenants.values()) if (Number.isInteger(t.retention_days) && (t.retention_days as number) > 0) out[t.tenant_id] = t.retention_days as number;
    return out;
  }
}

/** The tenants' retention policies as the control topic has them now (a private, short-lived view of it). */
export async function readRetentionPolicies(kafka: Kafka, log: Logger, topic: string = TOPICS.control): Promise<Record<string, number>> {
  const control = new ControlPlane(kafka, log, topic);
  try {
    await control.start();
    return control.state.retentionPolicies();
  } finally {
    await control.stop();
  }
}

/**
 * Follows the control topic from the beginning. `start()` resolves once the view has caught up
 * with everything written before it was called, so a process never serves with a partial view.
 */
export class ControlPlane {
  readonly state = new ControlState();
  private consumer?: Consumer;
  private producer?: Producer;

  constructor(
    private readonly kafka: Kafka,
    private readonly log: Logger,
    private readonly topic: string = TOPICS.control,
  ) {}

  async start(timeoutMs = 30000): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(this.topic).finally(() => admin.disconnect());
    const target = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
    const reached = new Map<number, bigint>();
    const caughtUp = () => [...target].every(([p, high]) => high === 0n || (reached.get(p) ?? 0n) >= high);

    // A private group that never commits: every process reads the whole (compacted) topic.
    this.consumer = this.kafka.consumer({ groupId: `rtap-control-${process.pid}-${randomBytes(4).toString('hex')}` });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    let resolveReady!: () => void;
    const ready = new Promise<void>((resolve) => (resolveReady = resolve));
    if (caughtUp()) resolveReady();
    await this.consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (message.key) {
          try {
            this.state.apply(message.key.toString('utf8'), message.value);
          } catch (err) {
            this.log.error({ err, offset: message.offset }, 'unreadable control record skipped');
          }
        }
        reached.set(partition, BigInt(message.offset) + 1n);
        if (caughtUp()) resolveReady();
      },
    });
    const timer = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new RtapError(`control plane did not catch up with ${this.topic} within ${timeoutMs} ms`, { retriable: true })), timeoutMs).unref(),
    );
    await Promise.race([ready, timer]);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    await this.producer?.disconnect();
  }

  private async writer(): Promise<Producer> {
    if (!this.producer) {
      // Control records are keyed upserts, so a retried duplicate is harmless: a plain producer
      // with bounded retries lets a CLI fail fast when Kafka is down.
      this.producer = this.kafka.producer();
      await this.producer.connect();
    }
    return this.producer;
  }

  /** Writes records and applies them locally at once, so the caller reads its own writes. */
  async write(records: { key: string; value: object | null }[]): Promise<void> {
    const producer = await this.writer();
    await producer.send({
      topic: this.topic,
      acks: -1,
      messages: records.map((r) => ({ key: r.key, value: r.value === null ? null : JSON.stringify(r.value) })),
    });
    for (const r of records) this.state.apply(r.key, r.value === null ? null : Buffer.from(JSON.stringify(r.value)));
  }

  async putTenants(tenants: { tenant_id: string; name?: string }[]): Promise<TenantRecord[]> {
    const now = new Date().toISOString();
    const records = tenants.map((t) => {
      if (!TENANT_ID_PATTERN.test(t.tenant_id)) throw new RtapError(`invalid tenant id ${JSON.stringify(t.tenant_id)}: expected ${TENANT_ID_PATTERN}`);
      const existing = this.state.tenants.get(t.tenant_id);
      const record: TenantRecord = { tenant_id: t.tenant_id, name: t.name ?? existing?.name ?? t.tenant_id, status: 'active', created_at: existing?.created_at ?? now };
      // Re-registering a tenant keeps its retention policy.
      return existing?.retention_days !== undefined ? { ...record, retention_days: existing.retention_days } : record;
    });
    // Chunked so a seed of thousands of tenants stays within Kafka's request size.
    for (let i = 0; i < records.length; i += 500) {
      await this.write(records.slice(i, i + 500).map((r) => ({ key: `tenant/${r.tenant_id}`, value: r })));
    }
    return records;
  }

  /** Sets (days) or clears (null) a registered tenant's retention policy. */
  async setRetention(tenantId: string, days: number | null): Promise<TenantRecord> {
    const existing = this.state.tenants.get(tenantId);
    if (!existing) throw new RtapError(`unknown tenant ${JSON.stringify(tenantId)}`);
    if (days !== null && (!Number.isInteger(days) || days < 1 || days > MAX_RETENTION_DAYS)) throw new RtapError(`retention: expected whole days in 1..${MAX_RETENTION_DAYS}, got ${days}`);
    const { retention_days: _previous, ...rest } = existing;
    const record: TenantRecord = days === null ? rest : { ...rest, retention_days: days };
    await this.write([{ key: `tenant/${tenantId}`, value: record }]);
    return record;
  }

  /** Creates an API key and returns it in clear: the only time it is ever visible. */
  async createApiKey(tenantId: string, roles: Role[], label: string, opts: { expiresAt?: Date } = {}): Promise<{ apiKey: string; record: ApiKeyRecord }> {
    if (tenantId !== '*' && !this.state.tenants.has(tenantId)) throw new InputError(`unknown tenant ${JSON.stringify(tenantId)}`, [{ path: '/tenant', reason: 'not a registered tenant' }]);
    if (roles.length === 0) throw new InputError('a key needs at least one role', [{ path: '/roles', reason: 'empty' }]);
    if (opts.expiresAt !== undefined && !(opts.expiresAt.getTime() > Date.now())) throw new InputError('the expiry must be in the future', [{ path: '/expires_in', reason: 'not in the future' }]);
    const apiKey = newApiKey();
    const record: ApiKeyRecord = {
      key_hash: hashApiKey(apiKey),
      key_id: `key_${randomBytes(8).toString('hex')}`,
      tenant_id: tenantId,
      roles,
      label,
      created_at: new Date().toISOString(),
      ...(opts.expiresAt ? { expires_at: opts.expiresAt.toISOString() } : {}),
    };
    await this.write([{ key: `apikey/${record.key_hash}`, value: record }]);
    return { apiKey, record };
  }

  /**
   * A new secret for a key id (same id, tenant, roles, label and expiry); the secrets it had stop
   * working after `graceMs`, so clients can switch over without an outage.
   */
  async rotateApiKey(keyId: string, graceMs: number): Promise<{ apiKey: string; record: ApiKeyRecord; previousExpireAt: string }> {
    const now = Date.now();
    const live = this.state.keyRecords(keyId).filter((r) => keyUsable(r, now));
    if (live.length === 0) throw new InputError(`no usable key ${JSON.stringify(keyId)}`, [{ path: '/key_id', reason: 'unknown, revoked or expired' }]);
    const current = live[0];
    const graceEnd = new Date(now + graceMs).toISOString();
    const apiKey = newApiKey();
    const record: ApiKeyRecord = { ...current, key_hash: hashApiKey(apiKey), key_id: keyId, created_at: new Date(now).toISOString() };
    const retired = live.map((r) => ({ ...r, key_id: keyId, expires_at: r.expires_at !== undefined && r.expires_at < graceEnd ? r.expires_at : graceEnd }));
    await this.write([{ key: `apikey/${record.key_hash}`, value: record }, ...retired.map((r) => ({ key: `apikey/${r.key_hash}`, value: r }))]);
    return { apiKey, record, previousExpireAt: graceEnd };
  }

  /** Revokes every secret of a key id at once; the records stay (with revoked_at) as a trail. */
  async revokeApiKey(keyId: string): Promise<ApiKeyRecord[]> {
    const records = this.state.keyRecords(keyId).filter((r) => r.revoked_at === undefined);
    if (records.length === 0) throw new InputError(`no such key ${JSON.stringify(keyId)} (or already revoked)`, [{ path: '/key_id', reason: 'unknown or already revoked' }]);
    const revokedAt = new Date().toISOString();
    const revoked = records.map((r) => ({ ...r, key_id: keyId, revoked_at: revokedAt }));
    await this.write(revoked.map((r) => ({ key: `apikey/${r.key_hash}`, value: r })));
    return revoked;
  }
}
