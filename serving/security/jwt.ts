// JWT bearer tokens, verified with jose against the issuer's public keys: a JWKS file, a JWKS URL
// or a PEM public key file (core/config.ts). Only asymmetric algorithms are on the allow-list, so
// `none` and HS* tokens fail before any key is looked at: a token HMAC-signed with the public key
// (HS/RS confusion) is refused like any forgery. Key rotation needs no restart: files are re-read
// when they change (checked at most every `recheckMs`), and a URL's JWKS is jose's remote set,
// which refetches when a token names a `kid` it does not hold.
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { JwtConfig } from '../../core/config';
import { createLogger } from '../../core/logger';

/** A verified token's claims, or why it was refused (a short, client-safe reason). */
export type JwtResult = { ok: true; claims: JWTPayload } | { ok: false; reason: string };

export interface JwtVerifier {
  verify(token: string): Promise<JwtResult>;
}

export interface JwtVerifierOptions {
  /** How often a key file's mtime is checked for a rotation (default 1000 ms; 0 = every token). */
  recheckMs?: number;
  /** The clock, for expiry (default Date.now). */
  now?: () => number;
}

type KeyLookup = { kind: 'set'; getKey: JWTVerifyGetKey } | { kind: 'key'; key: KeyObject };

/** A key file that is parsed again when its mtime or size changes. */
function watchedFile<T>(file: string, parse: (text: string) => T, recheckMs: number, now: () => number): () => Promise<T> {
  let loaded: { stamp: string; value: T } | undefined;
  let checkedAt = -Infinity;
  return async () => {
    if (loaded && now() - checkedAt < recheckMs) return loaded.value;
    checkedAt = now();
    const st = await fs.stat(file);
    const stamp = `${st.mtimeMs}:${st.size}`;
    if (loaded?.stamp !== stamp) loaded = { stamp, value: parse(await fs.readFile(file, 'utf8')) };
    return loaded.value;
  };
}

function keySource(cfg: JwtConfig, recheckMs: number, now: () => number): () => Promise<KeyLookup> {
  const source = cfg.keys;
  switch (source.kind) {
    case 'jwks-url': {
      const remote = createRemoteJWKSet(new URL(source.url), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
      return async () => ({ kind: 'set', getKey: remote });
    }
    case 'jwks-file': {
      const read = watchedFile(source.path, (text) => createLocalJWKSet(JSON.parse(text) as JSONWebKeySet), recheckMs, now);
      return async () => ({ kind: 'set', getKey: await read() });
    }
    case 'pem-file': {
      const read = watchedFile(source.path, (text) => createPublicKey(text), recheckMs, now);
      return async () => ({ kind: 'key', key: await read() });
    }
  }
}

/** What a jose error means to a client: the reason names the failed check, never key material. */
function refusal(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'the token has expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `claim "${err.claim}" ${err.reason === 'check_failed' ? 'does not match' : err.reason.replace(/_/g, ' ')}`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'the token algorithm is not allowed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no issuer key matches the token';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'the token signature is invalid';
  if (err instanceof errors.JWTInvalid || err instanceof errors.JWSInvalid) return 'the token is malformed';
  // anything else (an unreadable key file, an unreachable JWKS URL): no detail for the client
  return 'the token cannot be verified';
}

export function createJwtVerifier(cfg: JwtConfig, opts: JwtVerifierOptions = {}): JwtVerifier {
  const now = opts.now ?? Date.now;
  const log = createLogger('auth');
  const keys = keySource(cfg, opts.recheckMs ?? 1000, now);
  const options: JWTVerifyOptions = {
    issuer: cfg.issuer,
    audience: cfg.audience,
    algorithms: cfg.algorithms,
    clockTolerance: cfg.clockToleranceSec,
    requiredClaims: ['sub', 'exp'],
  };
  return {
    async verify(token) {
      try {
        const lookup = await keys();
        const verifyOptions: JWTVerifyOptions = { ...options, currentDate: new Date(now()) };
        const { payload } = lookup.kind === 'set' ? await jwtVerify(token, lookup.getKey, verifyOptions) : await jwtVerify(token, lookup.key, verifyOptions);
        return { ok: true, claims: payload };
      } catch (err) {
        // A bad token is the client's; a key source that fails (file gone, URL down) is the operator's to see.
        if (!(err instanceof errors.JOSEError) || err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) log.warn({ err, keys: cfg.keys.kind }, 'JWT issuer keys unavailable');
        return { ok: false, reason: refusal(err) };
      }
    },
  };
}
