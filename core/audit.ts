// The tamper-evident audit chain (docs/security.md "Audit"). Pure: the record shape, canonical
// JSON, hashing, a chain writer's state, and the verifier. Each writer process (an API worker, one
// CLI invocation) keeps a chain of its own with its own id; each record holds the hash of the one
// before it, so editing, removing or reordering a record breaks the chain, and the chain heads
// anchored in the control topic (`audit-head/<chain>`) make a cut-off tail detectable too.
import { createHash } from 'node:crypto';

/** Who acted: a credential (its public id, never a secret), the CLI's OS user, or nobody known. */
export interface AuditActor {
  kind: 'api_key' | 'jwt' | 'cli' | 'anonymous';
  id: string | null;
  label?: string;
}

/** What the caller of `append` says; the chain fields are added by the writer. */
export interface AuditEntry {
  ts: string;
  source: 'api' | 'cli';
  actor: AuditActor;
  /** The tenant whose data or settings the action touched; null when none (a refused request). */
  tenant: string | null;
  /** A platform credential acted for a tenant, or for none in particular. */
  cross_tenant: boolean;
  /** API: the route pattern (`/api/v2/admin/tenants/:id/usage`); CLI: the command (`limits set`). */
  action: string;
  /** API: the HTTP method; CLI: `CLI`. */
  method: string;
  /** API: the HTTP status; CLI: 0 done, 1 failed. */
  status: number;
  /** API: the path as requested, query string excluded (it may carry a credential); CLI: the arguments. */
  target: string;
  duration_ms?: number;
  /** A refused credential's fingerprint (sha256 prefix), to tell repeated attempts apart without keeping it. */
  credential_fp?: string;
  remote?: string;
  detail?: Record<string, string | number | boolean>;
}

export interface AuditRecord extends AuditEntry {
  v: 1;
  chain: string;
  seq: number;
  prev_hash: string;
  hash: string;
}

/** A chain's head as anchored in the control topic. */
export interface AuditAnchor {
  chain: string;
  seq: number;
  hash: string;
  ts: string;
  /** The audit topic offset of the record at `seq`, when known: what an archive must reach. */
  offset?: string;
  /** The writer stopped: no record may follow `seq`. */
  closed?: boolean;
}

export const AUDIT_ANCHOR_KIND = 'audit-head';
export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and undefined members left out: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const members = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`);
  return `{${members.join(',')}}`;
}

/** sha256(prev_hash + canonical JSON of the record without its hash). */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...rest } = record;
  return createHash('sha256').update(record.prev_hash).update(canonicalJson(rest)).digest('hex');
}

/** One writer's chain state: numbers and links each entry it is given, in order. */
export class AuditChain {
  private seq = 0;
  private prev = GENESIS_HASH;

  constructor(readonly id: string) {}

  next(entry: AuditEntry): AuditRecord {
    const unsigned = { ...entry, v: 1 as const, chain: this.id, seq: this.seq, prev_hash: this.prev };
    const record: AuditRecord = { ...unsigned, hash: recordHash(unsigned) };
    this.seq++;
    this.prev = record.hash;
    return record;
  }

  /** The last record's seq and hash (seq -1 before any). */
  get head(): { seq: number; hash: string } {
    return { seq: this.seq - 1, hash: this.prev };
  }
}

/** Where a record was read: a topic offset, or an archived object and its line. */
export interface AuditPosition {
  offset: string;
  object?: string;
  line?: number;
}

export interface AuditProblem {
  chain: string | null;
  seq: number | null;
  at: AuditPosition | null;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  chains: number;
  /** Every problem found, in log order; the first is the first bad record. */
  problems: AuditProblem[];
}

export interface VerifyOptions {
  /**
   * Chains may start after seq 0 when the log's oldest records are gone by retention (a topic whose
   * first offset is past 0); such a start is accepted as it is, everything after it is checked.
   */
  allowTrimmedStart?: boolean;
  /** Anchors whose offset is at or past this were written after the log being checked ends (archive lag). */
  anchorOffsetLimit?: bigint;
}

const RECORD_FIELDS = ['v', 'chain', 'seq', 'ts', 'prev_hash', 'hash', 'action', 'method', 'status'] as const;

function asRecord(value: unknown): AuditRecord | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const r = value as Record<string, unknown>;
  if (RECORD_FIELDS.some((f) => r[f] === undefined)) return undefined;
  if (typeof r.chain !== 'string' || !Number.isInteger(r.seq) || typeof r.hash !== 'string' || typeof r.prev_hash !== 'string') return undefined;
  return value as AuditRecord;
}

/**
 * Checks a log of records (in log order) and the chains' anchors. Finds: a record edited (its hash
 * no longer matches), removed (a seq missing), reordered (a seq before a lower one), forged and
 * re-hashed (its prev_hash is not the previous record's hash), duplicated, unreadable, and a
 * chain cut short (an anchor names a seq or hash the log does not hold, or records follow a
 * closed chain's last one).
 */
export function verifyAudit(log: { at: AuditPosition; value: unknown }[], anchors: AuditAnchor[], opts: VerifyOptions = {}): VerifyResult {
  const problems: AuditProblem[] = [];
  const seqsByChain = new Map<string, Set<number>>();
  const parsed = log.map(({ at, value }) => ({ at, record: asRecord(value) }));
  for (const { record } of parsed) {
    if (!record) continue;
    let s = seqsByChain.get(record.chain);
    if (!s) seqsByChain.set(record.chain, (s = new Set()));
    s.add(record.seq);
  }
  const last = new Map<string, AuditRecord>();
  const hashAt = new Map<string, string>();
  const anchorByChain = new Map(anchors.map((a) => [a.chain, a]));
  for (const { at, record } of parsed) {
    if (!record) {
      problems.push({ chain: null, seq: null, at, reason: 'unreadable record: not an audit record (fields missing or of the wrong type)' });
      continue;
    }
    const bad = (reason: string) => problems.push({ chain: record.chain, seq: record.seq, at, reason });
    if (recordHash(record) !== record.hash) bad('altered: the hash does not match the record content');
    const prev = last.get(record.chain);
    const closed = anchorByChain.get(record.chain);
    if (closed?.closed && record.seq > closed.seq) bad(`appended after the chain was closed at seq ${closed.seq}`);
    if (!prev) {
      if (record.seq !== 0 && !opts.allowTrimmedStart) {
        bad(seqsByChain.get(record.chain)!.has(0) ? `reordered: seq ${record.seq} comes before seq 0` : `records removed: the chain starts at seq ${record.seq}, not 0`);
      } else if (record.seq === 0 && record.prev_hash !== GENESIS_HASH) bad('forged: seq 0 does not link to the genesis hash');
    } else if (record.seq === prev.seq) {
      bad(`duplicated: seq ${record.seq} appears twice`);
      continue;
    } else if (record.seq < prev.seq) {
      bad(`reordered: seq ${record.seq} comes after seq ${prev.seq}`);
      continue;
    } else if (record.seq > prev.seq + 1) {
      const missing = prev.seq + 1;
      bad(seqsByChain.get(record.chain)!.has(missing) ? `reordered: seq ${record.seq} comes before seq ${missing}` : `records removed: seq ${missing}${record.seq - 1 > missing ? `..${record.seq - 1}` : ''} missing before seq ${record.seq}`);
    } else if (record.prev_hash !== prev.hash) bad(`chain broken: prev_hash is not the hash of seq ${prev.seq} (one of the two was replaced and re-hashed)`);
    last.set(record.chain, record);
    hashAt.set(`${record.chain}\u0000${record.seq}`, record.hash);
  }
  for (const a of anchors) {
    if (opts.anchorOffsetLimit !== undefined && a.offset !== undefined && BigInt(a.offset) >= opts.anchorOffsetLimit) continue;
    const tail = last.get(a.chain);
    const hash = hashAt.get(`${a.chain}\u0000${a.seq}`);
    if (!tail || tail.seq < a.seq) {
      problems.push({ chain: a.chain, seq: (tail?.seq ?? -1) + 1, at: null, reason: `truncated: the anchored head is seq ${a.seq} (${a.ts}) but the chain ${tail ? `ends at seq ${tail.seq}` : 'has no records'}` });
    } else if (hash !== undefined && hash !== a.hash) {
      problems.push({ chain: a.chain, seq: a.seq, at: null, reason: `altered: seq ${a.seq} differs from the anchored head's hash` });
    }
  }
  const records = parsed.filter((p) => p.record).length;
  return { ok: problems.length === 0, records, chains: seqsByChain.size, problems };
}

/** A problem as one line: `chain c seq 4 (offset 17): why`. */
export function describeProblem(p: AuditProblem): string {
  const where = p.at ? (p.at.object ? ` (${p.at.object} line ${p.at.line})` : ` (offset ${p.at.offset})`) : '';
  return `${p.chain === null ? 'record' : `chain ${p.chain} seq ${p.seq}`}${where}: ${p.reason}`;
}
