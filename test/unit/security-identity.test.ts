// Identity: JWTs verified with generated keys (JWKS file, PEM file, rotation by a new kid, every
// refusal: expired, wrong audience/issuer, alg none, HS/RS confusion), claims → Principal, API
// keys (expiry, revocation, old `read` records upcast), and key administration rules.
import { createHmac, generateKeyPairSync } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportJWK, SignJWT, type JWK } from 'jose';
import type { JwtConfig } from '../../core/config';
import { loadConfig } from '../../core/config';
import { ControlState, hashApiKey, keyIdOf, upcastRoles, type ApiKeyRecord } from '../../core/control';
import { createIdentity, credentialOf, principalFromClaims } from '../../serving/security/identity';
import { createJwtVerifier } from '../../serving/security/jwt';
import { grantRefusal, keySummaries, parseExpiry } from '../../serving/security/key-admin';

const NOW = Date.parse('2026-11-27T12:00:00Z');
const now = () => NOW;
const sec = (ms: number) => Math.floor(ms / 1000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-jwt-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const rsa = (bits = 2048) => generateKeyPairSync('rsa', { modulusLength: bits });
const keyA = rsa();
const keyB = rsa();

async function jwk(pair: ReturnType<typeof rsa>, kid: string): Promise<JWK> {
  return { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
}

const base = { keys: { kind: 'jwks-file', path: path.join(dir, 'jwks.json') }, issuer: 'https://idp.example', audience: 'rtap-api', algorithms: ['RS256', 'ES256'], tenantClaim: 'rtap_tenant', rolesClaim: 'rtap_roles', clockToleranceSec: 0 } as const;
const cfg: JwtConfig = { ...base, keys: { ...base.keys }, algorithms: [...base.algorithms] };

function token(pair: ReturnType<typeof rsa>, kid: string, claims: Record<string, unknown> = {}, opts: { iss?: string; aud?: string; exp?: number; sub?: string | null } = {}) {
  const t = new SignJWT({ rtap_tenant: 'acme', rtap_roles: ['viewer'], ...claims })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(opts.iss ?? cfg.issuer)
    .setAudience(opts.aud ?? cfg.audience)
    .setIssuedAt(sec(NOW) - 60)
    .setExpirationTime(opts.exp ?? sec(NOW) + 600);
  if (opts.sub !== null) t.setSubject(opts.sub ?? 'user-1');
  return t.sign(pair.privateKey);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('JWT verification', () => {
  beforeAll(async () => {
    fs.writeFileSync(cfg.keys.kind === 'jwks-file' ? cfg.keys.path : '', JSON.stringify({ keys: [await jwk(keyA, 'a')] }));
  });

  it('accepts a token of the issuer, for the audience, unexpired', async () => {
    const v = createJwtVerifier(cfg, { now, recheckMs: 0 });
    const r = await v.verify(await token(keyA, 'a'));
    expect(r).toMatchObject({ ok: true, claims: { sub: 'user-1', rtap_tenant: 'acme' } });
  });

  it.each([
    ['expired', async () => token(keyA, 'a', {}, { exp: sec(NOW) - 1 }), /expired/],
    ['another audience', async () => token(keyA, 'a', {}, { aud: 'someone-else' }), /"aud"/],
    ['another issuer', async () => token(keyA, 'a', {}, { iss: 'https://evil.example' }), /"iss"/],
    ['no subject', async () => token(keyA, 'a', {}, { sub: null }), /"sub"/],
    ['signed by an unknown key under a known kid', async () => token(keyB, 'a'), /signature/],
    ['signed by an unknown kid', async () => token(keyB, 'zzz'), /no issuer key/],
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', iss: cfg.issuer, aud: cfg.audience, exp: sec(NOW) + 600, rtap_tenant: '*', rtap_roles: ['platform-admin'] })}.`, /algorithm|malformed/],
    [
      'HS256 signed with the public key (HS/RS confusion)',
      async () => {
        const header = b64({ alg: 'HS256', typ: 'JWT', kid: 'a' });
        const payload = b64({ sub: 'x', iss: cfg.issuer, aud: cfg.audience, exp: sec(NOW) + 600, rtap_tenant: '*', rtap_roles: ['platform-admin'] });
        const pem = keyA.publicKey.export({ type: 'spki', format: 'pem' });
        const sig = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
      /algorithm/,
    ],
    ['garbage', async () => 'not.a.jwt', /malformed|cannot/],
  ])('refuses a token %s', async (_name, make, reason) => {
    const v = createJwtVerifier(cfg, { now, recheckMs: 0 });
    const r = await v.verify(await make());
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });

  it('picks up a rotated JWKS file (a new kid) without a restart', async () => {
    const file = path.join(dir, 'rotating.json');
    fs.writeFileSync(file, JSON.stringify({ keys: [await jwk(keyA, 'a')] }));
    const v = createJwtVerifier({ ...cfg, keys: { kind: 'jwks-file', path: file } }, { now, recheckMs: 0 });
    const fromB = await token(keyB, 'b');
    expect((await v.verify(fromB)).ok).toBe(false);
    // the issuer rotates: B is published, A retired; the size changes, so the file is re-read
    fs.writeFileSync(file, JSON.stringify({ keys: [await jwk(keyB, 'b')], rotated: true }));
    expect((await v.verify(fromB)).ok).toBe(true);
    expect((await v.verify(await token(keyA, 'a'))).ok).toBe(false);
  });

  it('verifies against a PEM public key file, and refuses HS256 made with that very PEM', async () => {
    const file = path.join(dir, 'issuer.pem');
    const pem = keyA.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    fs.writeFileSync(file, pem);
    const v = createJwtVerifier({ ...cfg, keys: { kind: 'pem-file', path: file } }, { now, recheckMs: 0 });
    expect((await v.verify(await token(keyA, 'whatever'))).ok).toBe(true);
    const forged = await new SignJWT({ rtap_tenant: '*', rtap_roles: ['platform-admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('attacker')
      .setIssuer(cfg.issuer)
      .setAudience(cfg.audience)
      .setExpirationTime(sec(NOW) + 600)
      .sign(new TextEncoder().encode(pem));
    expect(await v.verify(forged)).toEqual({ ok: false, reason: 'the token algorithm is not allowed' });
  });
});

describe('JWT configuration', () => {
  it('takes one key source with issuer and audience, and refuses HS*, none, missing parts and two sources', () => {
    const file = path.join(dir, 'cfg.pem');
    fs.writeFileSync(file, 'x');
    const ok = loadConfig({ JWT_PUBLIC_KEY_FILE: file, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_ALGORITHMS: 'RS256,EdDSA' });
    expect(ok.auth.jwt).toMatchObject({ keys: { kind: 'pem-file', path: file }, issuer: 'i', audience: 'a', algorithms: ['RS256', 'EdDSA'] });
    expect(loadConfig({}).auth.jwt).toBeUndefined();
    expect(() => loadConfig({ JWT_PUBLIC_KEY_FILE: file, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_ALGORITHMS: 'RS256,HS256' })).toThrow(/JWT_ALGORITHMS.*HS256/);
    expect(() => loadConfig({ JWT_PUBLIC_KEY_FILE: file, JWT_ISSUER: 'i', JWT_AUDIENCE: 'a', JWT_ALGORITHMS: 'none' })).toThrow(/JWT_ALGORITHMS/);
    expect(() => loadConfig({ JWT_PUBLIC_KEY_FILE: file })).toThrow(/JWT_ISSUER: required[\s\S]*JWT_AUDIENCE: required/);
    expect(() => loadConfig({ JWT_PUBLIC_KEY_FILE: file, JWT_JWKS_URL: 'https://idp/jwks', JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toThrow(/exactly one JWT key source/);
    expect(() => loadConfig({ JWT_JWKS_FILE: path.join(dir, 'missing.json'), JWT_ISSUER: 'i', JWT_AUDIENCE: 'a' })).toThrow(/JWT_JWKS_FILE: expected a readable file/);
    expect(() => loadConfig({ JWT_ISSUER: 'i' })).toThrow(/without a key source/);
  });
});

describe('claims → principal', () => {
  const parts = { tenantClaim: 'rtap_tenant', rolesClaim: 'rtap_roles' };
  it('maps sub, tenant and roles (array or space-separated), dropping unknown roles', () => {
    expect(principalFromClaims({ sub: 'u1', rtap_tenant: 'acme', rtap_roles: 'viewer analyst root' }, parts)).toEqual({
      ok: true,
      principal: { kind: 'jwt', id: 'u1', tenant_id: 'acme', roles: ['viewer', 'analyst'], label: 'jwt:u1' },
    });
  });
  it.each([
    [{ sub: 'u', rtap_tenant: '*', rtap_roles: ['admin'] }, /\* only with the platform-admin/],
    [{ sub: 'u', rtap_tenant: 'ACME; drop', rtap_roles: ['admin'] }, /tenant id/],
    [{ sub: 'u', rtap_roles: ['admin'] }, /tenant id/],
    [{ sub: 'u', rtap_tenant: 'acme', rtap_roles: ['root'] }, /at least one known role/],
    [{ sub: 'u', rtap_tenant: 'acme', rtap_roles: [{ $ne: 1 }] }, /at least one known role/],
  ])('refuses %j', (claims, reason) => {
    const r = principalFromClaims(claims, parts);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(reason);
  });
  it('lets * through with platform-admin', () => {
    expect(principalFromClaims({ sub: 'ops', rtap_tenant: '*', rtap_roles: ['platform-admin'] }, parts)).toMatchObject({ ok: true, principal: { tenant_id: '*', roles: ['platform-admin'] } });
  });
});

describe('API keys', () => {
  const control = new ControlState();
  const put = (secret: string, extra: Partial<ApiKeyRecord> & { roles: ApiKeyRecord['roles'] }) => {
    const record: ApiKeyRecord = { key_hash: hashApiKey(secret), tenant_id: 'acme', label: secret, created_at: '2026-01-01T00:00:00Z', ...extra };
    control.apply(`apikey/${record.key_hash}`, Buffer.from(JSON.stringify(record)));
    return record;
  };
  const legacy = put('rtap_legacy', { roles: ['read'] });
  put('rtap_expired', { roles: ['viewer'], key_id: 'key_00000000000000e1', expires_at: new Date(NOW - 1).toISOString() });
  put('rtap_revoked', { roles: ['admin'], key_id: 'key_00000000000000r1', revoked_at: '2026-11-01T00:00:00Z' });
  put('rtap_future', { roles: ['ingest'], key_id: 'key_00000000000000f1', expires_at: new Date(NOW + 1).toISOString() });
  const identity = createIdentity({ control, now });

  it('upcasts an old `read` record to viewer + analyst, with an id derived from its hash', async () => {
    expect(upcastRoles(['read', 'ingest', 'read', 'bogus'])).toEqual(['viewer', 'analyst', 'ingest']);
    const r = await identity.authenticate({ kind: 'api_key', secret: 'rtap_legacy' });
    expect(r).toEqual({ ok: true, principal: { kind: 'api_key', id: keyIdOf(legacy), tenant_id: 'acme', roles: ['viewer', 'analyst'], label: 'rtap_legacy' } });
    expect(keyIdOf(legacy)).toMatch(/^key_[0-9a-f]{16}$/);
  });

  it('refuses unknown, expired and revoked keys with 401; a key expiring later still works', async () => {
    for (const secret of ['rtap_nope', 'rtap_expired', 'rtap_revoked']) {
      expect(await identity.authenticate({ kind: 'api_key', secret })).toMatchObject({ ok: false, failure: { status: 401, error: 'invalid_api_key' } });
    }
    expect(await identity.authenticate({ kind: 'api_key', secret: 'rtap_future' })).toMatchObject({ ok: true, principal: { id: 'key_00000000000000f1', roles: ['ingest'] } });
    expect(await identity.authenticate(undefined)).toMatchObject({ ok: false, failure: { status: 401 } });
  });

  it('refuses JWTs when no issuer is configured', async () => {
    expect(await identity.authenticate({ kind: 'jwt', token: 'eyJ.x.y' })).toMatchObject({ ok: false, failure: { status: 401, error: 'invalid_token' } });
  });

  it('tells an API key from a JWT: x-api-key, Bearer rtap_…, Bearer <jwt>, and the query key only when offered', () => {
    expect(credentialOf({ 'x-api-key': ' rtap_a ' })).toEqual({ kind: 'api_key', secret: 'rtap_a' });
    expect(credentialOf({ authorization: 'Bearer rtap_b' })).toEqual({ kind: 'api_key', secret: 'rtap_b' });
    expect(credentialOf({ authorization: 'bearer eyJhbGc.x.y' })).toEqual({ kind: 'jwt', token: 'eyJhbGc.x.y' });
    expect(credentialOf({ authorization: 'Basic abc' })).toBeUndefined();
    expect(credentialOf({}, 'rtap_q')).toEqual({ kind: 'api_key', secret: 'rtap_q' });
  });

  it('summarizes keys per id without secrets or hashes', () => {
    const list = keySummaries(control.apiKeys.values(), NOW);
    expect(list.map((k) => [k.key_id, k.status])).toEqual(
      expect.arrayContaining([
        [keyIdOf(legacy), 'active'],
        ['key_00000000000000e1', 'expired'],
        ['key_00000000000000r1', 'revoked'],
        ['key_00000000000000f1', 'active'],
      ]),
    );
    expect(JSON.stringify(list)).not.toContain(legacy.key_hash);
  });

  it('lets nobody grant what they do not hold', () => {
    expect(grantRefusal(['admin'], 'acme', ['viewer', 'admin', 'ingest'])).toBeUndefined();
    expect(grantRefusal(['admin'], 'acme', ['platform-admin'])).toMatch(/platform administrator/);
    expect(grantRefusal(['admin'], '*', ['viewer'])).toMatch(/platform keys/);
    expect(grantRefusal(['platform-admin'], 'acme', ['platform-admin'])).toMatch(/platform keys \(tenant \*\) only/);
    expect(grantRefusal(['platform-admin'], '*', ['platform-admin'])).toBeUndefined();
    expect(grantRefusal(['viewer'], 'acme', ['viewer'])).toMatch(/admin role/);
  });

  it('parses expiries and names the field of a bad one', () => {
    expect(parseExpiry('30d')).toBe(30 * 86_400_000);
    expect(parseExpiry('90m')).toBe(90 * 60_000);
    expect(() => parseExpiry('30 days', '--expires')).toThrow(/30 days/);
    expect(() => parseExpiry('0d')).toThrow(/expected a count and a unit/);
    expect(() => parseExpiry('9999d')).toThrow(/3650d/);
  });
});
