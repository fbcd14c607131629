// MD5 (RFC 1321) of a string's UTF-8 bytes in plain JavaScript, for the HyperLogLog hash (hll.ts):
// the speed layer hashes two ids per event, and for these short strings node:crypto's
// createHash('md5') costs about a microsecond each in object and Buffer allocations and the
// call into C++, several times this loop. Only the first 8 bytes of the digest are returned, as
// the two big-endian 32-bit words hll.ts reads; the result equals createHash('md5') bit for bit
// (tested, including lone surrogates, which UTF-8 encoding replaces by U+FFFD as Buffer does).

/** Per-round left rotations and additive constants (floor(|sin(i + 1)| · 2^32)). */
const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const K = new Int32Array(64).map((_x, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);

/** UTF-8 bytes of the current value, padded: grown when a longer value comes. */
let bytes = new Uint8Array(256);
const words = new Int32Array(16);

/** Writes the first two big-endian 32-bit words of md5(UTF-8 of value) into out[0], out[1]. */
export function md5Head(value: string, out: Uint32Array): void {
  const n = utf8(value);
  // padding: 0x80, zeros up to 56 mod 64, then the bit length as a 64-bit little-endian integer
  const total = (((n + 8) >> 6) + 1) << 6;
  bytes[n] = 0x80;
  bytes.fill(0, n + 1, total);
  const bits = n * 8;
  bytes[total - 8] = bits & 0xff;
  bytes[total - 7] = (bits >>> 8) & 0xff;
  bytes[total - 6] = (bits >>> 16) & 0xff;
  bytes[total - 5] = (bits >>> 24) & 0xff;
  const high = Math.floor(bits / 2 ** 32);
  bytes[total - 4] = high & 0xff;
  bytes[total - 3] = (high >>> 8) & 0xff;
  let a0 = 0x67452301;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476;
  for (let off = 0; off < total; off += 64) {
    for (let j = 0; j < 16; j++) {
      const o = off + 4 * j;
      words[j] = bytes[o] | (bytes[o + 1] << 8) | (bytes[o + 2] << 16) | (bytes[o + 3] << 24);
    }
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    // the four rounds, each a loop of its own (no per-step branch on the round)
    for (let i = 0; i < 16; i++) {
      const x = (a + ((b & c) | (~b & d)) + K[i] + words[i]) | 0;
      const s = S[i & 3];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 16; i < 32; i++) {
      const x = (a + ((d & b) | (~d & c)) + K[i] + words[(5 * i + 1) & 15]) | 0;
      const s = S[4 + (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 32; i < 48; i++) {
      const x = (a + (b ^ c ^ d) + K[i] + words[(3 * i + 5) & 15]) | 0;
      const s = S[8 + (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    for (let i = 48; i < 64; i++) {
      const x = (a + (c ^ (b | ~d)) + K[i] + words[(7 * i) & 15]) | 0;
      const s = S[12 + (i & 3)];
      a = d;
      d = c;
      c = b;
      b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  out[0] = bswap(a0);
  out[1] = bswap(b0);
}

const bswap = (x: number): number => ((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24);

/** Writes the UTF-8 encoding of `value` at the start of `bytes` (growing it); returns its length. */
function utf8(value: string): number {
  // 3 bytes per UTF-16 unit at most, plus the padding's 72
  if (value.length * 3 + 72 > bytes.length) bytes = new Uint8Array(2 * (value.length * 3 + 72));
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      bytes[n++] = c;
    } else if (c < 0x800) {
      bytes[n++] = 0xc0 | (c >> 6);
      bytes[n++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const next = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
          const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          bytes[n++] = 0xf0 | (cp >> 18);
          bytes[n++] = 0x80 | ((cp >> 12) & 0x3f);
          bytes[n++] = 0x80 | ((cp >> 6) & 0x3f);
          bytes[n++] = 0x80 | (cp & 0x3f);
          continue;
        }
        c = 0xfffd; // a lone surrogate
      }
      bytes[n++] = 0xe0 | (c >> 12);
      bytes[n++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[n++] = 0x80 | (c & 0x3f);
    }
  }
  return n;
}
