// The audit hash chain (core/audit.ts): a clean log verifies, and each kind of tampering — an
// edited record (with or without re-hashing), a removed one, two swapped, a cut-off tail, a record
// appended after the chain closed, a forged genesis — is detected and named by chain and seq.
import { AuditChain, GENESIS_HASH, canonicalJson, describeProblem, recordHash, verifyAudit, type AuditAnchor, type AuditEntry, type AuditRecord } from '../../core/audit';

const entry = (i: number): AuditEntry => ({
  ts: new Date(Date.UTC(2026, 10, 27, 12, 0, i)).toISOString(),
  source: 'api',
  actor: { kind: 'api_key', id: `key_${i % 2}`, label: 'test' },
  tenant: 'acme',
  cross_tenant: false,
  action: 'POST /api/v2/analytics/query',
  method: 'POST',
  status: 200,
  target: '/api/v2/analytics/query',
});

/** Two chains interleaved in one log, as two API workers write them. */
function log(n = 6): { records: AuditRecord[]; anchors: AuditAnchor[] } {
  const a = new AuditChain('api-a');
  const b = new AuditChain('api-b');
  const records: AuditRecord[] = [];
  for (let i = 0; i < n; i++) records.push((i % 3 === 2 ? b : a).next(entry(i)));
  const anchor = (c: AuditChain, offset: number): AuditAnchor => ({ chain: c.id, seq: c.head.seq, hash: c.head.hash, ts: '2026-11-27T12:01:00Z', offset: String(offset) });
  return { records, anchors: [anchor(a, n - 2), anchor(b, n - 1)] };
}

const positioned = (records: unknown[]) => records.map((value, i) => ({ at: { offset: String(i) }, value }));
const first = (records: unknown[], anchors: AuditAnchor[]) => verifyAudit(positioned(records), anchors).problems[0];

describe('audit chain', () => {
  it('links each record to the one before it, from the genesis hash', () => {
    const c = new AuditChain('c');
    const r0 = c.next(entry(0));
    const r1 = c.next(entry(1));
    expect(r0).toMatchObject({ chain: 'c', seq: 0, prev_hash: GENESIS_HASH });
    expect(r1).toMatchObject({ seq: 1, prev_hash: r0.hash });
    expect(recordHash(r1)).toBe(r1.hash);
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: undefined } })).toBe('{"a":{"d":[1,{"e":3,"f":2}]},"b":1}');
  });

  it('verifies an untouched log', () => {
    const { records, anchors } = log();
    expect(verifyAudit(positioned(records), anchors)).toEqual({ ok: true, records: 6, chains: 2, problems: [] });
  });

  it('detects an edited record', () => {
    const { records, anchors } = log();
    records[3] = { ...records[3], status: 403 };
    const p = first(records, anchors);
    expect(p).toMatchObject({ chain: 'api-a', seq: 2, reason: expect.stringMatching(/^altered/) });
    expect(describeProblem(p)).toBe('chain api-a seq 2 (offset 3): altered: the hash does not match the record content');
  });

  it('detects an edited record that was re-hashed: the next one no longer links to it', () => {
    const { records, anchors } = log();
    const forged = { ...records[1], tenant: 'other' };
    records[1] = { ...forged, hash: recordHash(forged) };
    expect(first(records, anchors)).toMatchObject({ chain: 'api-a', seq: 2, reason: expect.stringMatching(/^chain broken: prev_hash is not the hash of seq 1/) });
  });

  it('detects a removed record', () => {
    const { records, anchors } = log();
    records.splice(1, 1);
    expect(first(records, anchors)).toMatchObject({ chain: 'api-a', seq: 2, reason: 'records removed: seq 1 missing before seq 2' });
  });

  it('detects two records of a chain swapped', () => {
    const { records, anchors } = log();
    [records[3], records[4]] = [records[4], records[3]];
    expect(first(records, anchors)).toMatchObject({ chain: 'api-a', seq: 3, reason: 'reordered: seq 3 comes before seq 2' });
  });

  it("detects a cut-off tail through the chain's anchored head", () => {
    const { records, anchors } = log();
    const truncated = records.slice(0, 4);
    expect(first(truncated, anchors)).toMatchObject({ chain: 'api-a', seq: 3, at: null, reason: expect.stringMatching(/^truncated: the anchored head is seq 3 .* ends at seq 2/) });
    // and a whole chain removed
    expect(first(records.filter((r) => r.chain !== 'api-b'), anchors)).toMatchObject({ chain: 'api-b', seq: 0, reason: expect.stringMatching(/has no records/) });
  });

  it('ignores anchors written after the log being checked ends (archive lag)', () => {
    const { records, anchors } = log();
    expect(verifyAudit(positioned(records.slice(0, 4)), anchors, { anchorOffsetLimit: 4n }).ok).toBe(true);
  });

  it('detects a record appended after its chain was closed, and a forged genesis', () => {
    const { records, anchors } = log();
    const closed = anchors.map((a) => (a.chain === 'api-a' ? { ...a, seq: 2, hash: records[3].hash, closed: true } : a));
    expect(first(records, closed)).toMatchObject({ chain: 'api-a', seq: 3, reason: 'appended after the chain was closed at seq 2' });
    const forged = { ...records[0], prev_hash: 'f'.repeat(64) };
    records[0] = { ...forged, hash: recordHash(forged) };
    expect(first(records, anchors)).toMatchObject({ chain: 'api-a', seq: 0, reason: 'forged: seq 0 does not link to the genesis hash' });
  });

  it('names unreadable and duplicated records', () => {
    const { records, anchors } = log();
    expect(first([records[0], 'garbage', ...records.slice(1)], anchors)).toMatchObject({ chain: null, at: { offset: '1' }, reason: expect.stringMatching(/^unreadable/) });
    expect(first([records[0], records[0], ...records.slice(1)], anchors)).toMatchObject({ chain: 'api-a', seq: 0, reason: 'duplicated: seq 0 appears twice' });
  });

  it('accepts a chain whose start expired by retention only when told so', () => {
    const { records } = log();
    const trimmed = records.slice(3);
    expect(verifyAudit(positioned(trimmed), []).ok).toBe(false);
    expect(verifyAudit(positioned(trimmed), [], { allowTrimmedStart: true }).ok).toBe(true);
  });
});
