import { createHmac } from 'node:crypto';
import { ConfigError } from '../../core/errors';
import { createKeyring, hmacHex, isToken, loadPiiKeyring, tokenize, tokenizeEvent, tokensForAllVersions, tokenVersion } from '../../core/pii';
import type { RtapEvent } from '../../core/schema';
import { loadFixture } from '../contract/brief-event';

const S1 = 'first-secret-0123456789';
const S2 = 'second-secret-9876543210';
const ring1 = createKeyring({ v1: S1 }, 'v1');
const ring2 = createKeyring({ v1: S1, v2: S2 }, 'v2');

/** The brief's purchase event, as a client sends it: raw email and address lines included. */
function purchase(): RtapEvent {
  const e = loadFixture() as unknown as RtapEvent;
  e.event_data.user_context.email = 'ada@example.com';
  const payment = e.event_data.business_context!.transaction_context!.cart_context!.payment_context!;
  delete payment.payment_methods![0].billing_address!.address_hash;
  payment.payment_methods![0].billing_address!.address_line = 'Invalidenstr. 1, Berlin';
  delete payment.shipping_context!.shipping_address!.address_hash;
  payment.shipping_context!.shipping_address!.address_line = 'Invalidenstr. 1, Berlin';
  e.partition_key = `${e.tenant_id}:${e.event_data.user_context.user_id}`;
  return e;
}

describe('loadPiiKeyring', () => {
  test('reads keys and the current version', () => {
    const k = loadPiiKeyring({ PII_KEYS: `v1:${S1}, v2:${S2}`, PII_KEY_VERSION: 'v2' });
    expect(k.current).toBe('v2');
    expect([...k.keys.keys()]).toEqual(['v1', 'v2']);
    expect(loadPiiKeyring({ PII_KEYS: `v3:${S1}` }).current).toBe('v3');
  });

  test.each([
    [{}, /PII_KEYS: expected a comma-separated list/],
    [{ PII_KEYS: 'v1:short' }, /PII_KEYS: expected the secret of v1 to have at least 16 characters, got 5/],
    [{ PII_KEYS: `key1:${S1}` }, /PII_KEYS: expected key versions like v1, v2, got "key1"/],
    [{ PII_KEYS: `v1:${S1},v2:${S2}` }, /PII_KEY_VERSION: expected one of v1, v2/],
    [{ PII_KEYS: `v1:${S1}`, PII_KEY_VERSION: 'v9' }, /PII_KEY_VERSION: expected one of the versions in PII_KEYS \(v1\), got "v9"/],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => loadPiiKeyring(env)).toThrow(ConfigError);
    expect(() => loadPiiKeyring(env)).toThrow(message);
  });
});

describe('tokenize', () => {
  test('stable per key version, carries the version, differs across versions and kinds', () => {
    const a = tokenize('u_1_2', 'user', ring1);
    expect(a).toMatch(/^tok_v1_[0-9a-f]{32}$/);
    expect(tokenize('u_1_2', 'user', ring1)).toBe(a);
    expect(tokenize('u_1_2', 'user', ring2, 'v1')).toBe(a);
    const b = tokenize('u_1_2', 'user', ring2);
    expect(b).toMatch(/^tok_v2_/);
    expect(b.slice(7)).not.toBe(a.slice(7));
    expect(tokenVersion(b)).toBe('v2');
    expect(tokenize('u_1_2', 'email', ring1)).not.toBe(a);
    expect(tokenize('u_1_3', 'user', ring1)).not.toBe(a);
    expect(tokensForAllVersions('u_1_2', 'user', ring2)).toEqual([a, b]);
  });

  test('is a keyed HMAC: a different key gives an unrelated token, and a plain hash of the value does not match', () => {
    const other = createKeyring({ v1: 'another-secret-abcdefgh' }, 'v1');
    const t = tokenize('alice@example.com', 'email', ring1);
    expect(tokenize('alice@example.com', 'email', other)).not.toBe(t);
    const unkeyed = createHmac('sha256', '').update('email').update('\u0000').update('alice@example.com').digest('hex').slice(0, 32);
    expect(t.slice(7)).not.toBe(unkeyed);
    const expected = createHmac('sha256', S1).update('email').update('\u0000').update('alice@example.com').digest('hex').slice(0, 32);
    expect(t).toBe(`tok_v1_${expected}`);
    expect(t).not.toContain('alice');
  });

  test('tokens are left alone', () => {
    const t = tokenize('x', 'user', ring1);
    expect(tokenize(t, 'user', ring2)).toBe(t);
    expect(isToken(t)).toBe(true);
    expect(isToken('tok_v1_zz')).toBe(false);
  });
});

describe('tokenizeEvent', () => {
  test('replaces user id, email, payment tokens and addresses; leaves the input untouched', () => {
    const e = purchase();
    const before = JSON.stringify(e);
    const t = tokenizeEvent(e, ring1);
    expect(JSON.stringify(e)).toBe(before);
    const uc = e.event_data.user_context;
    const cart = e.event_data.business_context!.transaction_context!.cart_context!;
    const tcart = t.event_data.business_context!.transaction_context!.cart_context!;
    expect(t.event_data.user_context.user_id).toBe(tokenize(uc.user_id!, 'user', ring1));
    expect(t.event_data.user_context.email).toBe(tokenize(uc.email!, 'email', ring1));
    expect(t.partition_key).toBe(`${e.tenant_id}:${t.event_data.user_context.user_id}`);
    const pm = cart.payment_context!.payment_methods![0];
    const tpm = tcart.payment_context!.payment_methods![0];
    expect(tpm.tokenized_identifier).toBe(tokenize(pm.tokenized_identifier!, 'payment', ring1));
    expect(tpm.billing_address!.address_line).toBeUndefined();
    expect(tpm.billing_address!.address_hash).toBe(tokenize(pm.billing_address!.address_line!, 'address', ring1));
    expect(tcart.payment_context!.shipping_context!.shipping_address!.address_line).toBeUndefined();
    expect(tcart.payment_context!.shipping_context!.shipping_address!.address_hash).toMatch(/^tok_v1_/);
    const text = JSON.stringify(t);
    for (const raw of [uc.user_id!, uc.email!, pm.tokenized_identifier!, pm.billing_address!.address_line!]) expect(text).not.toContain(raw);
    // Everything else is the same event.
    expect(t.event_metadata).toEqual(e.event_metadata);
    expect(tcart.cart_value).toEqual(cart.cart_value);
  });

  test('is idempotent, also across a key rotation', () => {
    const once = tokenizeEvent(purchase(), ring1);
    expect(tokenizeEvent(once, ring1)).toBe(once);
    expect(JSON.stringify(tokenizeEvent(once, ring2))).toBe(JSON.stringify(once));
  });

  test('new key version gives different tokens for the same event', () => {
    const e = purchase();
    const a = tokenizeEvent(e, ring1).event_data.user_context.user_id!;
    const b = tokenizeEvent(e, ring2).event_data.user_context.user_id!;
    expect(a.startsWith('tok_v1_')).toBe(true);
    expect(b.startsWith('tok_v2_')).toBe(true);
    expect(a.slice(7)).not.toBe(b.slice(7));
  });
});

test('the one-shot HMAC-SHA256 equals createHmac for short, block-sized and long keys and any value', () => {
  const keys = ['k'.repeat(16), 'a 64-byte key: '.padEnd(64, '*'), 'a key longer than one SHA-256 block, hashed first as RFC 2104 says '.repeat(2), 'ünïcødé-secret-✓🎉'].map((k) => Buffer.from(k));
  const values = ['', 'user-123', 'jane.doe@example.com', '4111 1111 1111 1111', 'ünïcødé ✓ 🎉', '\ud800 lone', 'x'.repeat(5000)];
  for (const key of keys) {
    for (const kind of ['user', 'email', 'address', 'payment']) {
      for (const value of values) {
        expect(hmacHex(key, kind, value)).toBe(createHmac('sha256', key).update(kind).update('\u0000').update(value, 'utf8').digest('hex'));
      }
    }
  }
});
