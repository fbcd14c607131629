// Short ASCII texts (the changelog's cell values) written into one reused byte buffer and read
// out as one flat string. A checkpoint encodes every changed cell (~2.7 per event here): building
// the parts list and JSON.stringify-ing it cost ~2.3 µs per cell, this ~1.2–1.6, and a string
// built by `+=` instead would be a tree of pieces, which the checkpoint keeps alive by the thousand
// until Kafka has them. Checkpoint CPU per event: 15.0–16.5 → 10.2–12.0 µs (docs/speed-bench.md,
// "2026-11-29 12:00").

const MINUS = 45;
const ZERO = 48;
const B64 = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));
const PAD = 61; // '='

export class AsciiWriter {
  private buf = Buffer.allocUnsafe(1024);
  private n = 0;

  private room(more: number): void {
    if (this.n + more <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.n + more));
    this.buf.copy(bigger, 0, 0, this.n);
    this.buf = bigger;
  }

  /** One character by its code (< 128). */
  code(c: number): void {
    this.room(1);
    this.buf[this.n++] = c;
  }

  /** An ASCII string as is (no escaping: callers write only text that needs none). */
  text(s: string): void {
    this.room(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.n++] = s.charCodeAt(i);
  }

  /** A number as JSON.stringify writes it (NaN and ±∞ as null). */
  number(x: number): void {
    if (Number.isSafeInteger(x)) this.integer(x);
    else if (Number.isFinite(x)) this.text(String(x));
    else this.text('null');
  }

  /** A safe integer in decimal (−0 as 0). */
  private integer(x: number): void {
    this.room(17);
    const b = this.buf;
    if (x < 0) {
      b[this.n++] = MINUS;
      x = -x;
    }
    if (x < 10) {
      b[this.n++] = ZERO + x;
      return;
    }
    const start = this.n;
    while (x > 0) {
      const q = Math.floor(x / 10);
      b[this.n++] = ZERO + (x - q * 10);
      x = q;
    }
    for (let i = start, j = this.n - 1; i < j; i++, j--) {
      const t = b[i];
      b[i] = b[j];
      b[j] = t;
    }
  }

  /** Standard base64 (with padding) of bytes[0, len): what Buffer#toString('base64') gives. */
  base64(bytes: Uint8Array, len: number): void {
    this.room(4 * Math.ceil(len / 3));
    const b = this.buf;
    let i = 0;
    for (; i + 2 < len; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      b[this.n++] = B64[v >> 18];
      b[this.n++] = B64[(v >> 12) & 63];
      b[this.n++] = B64[(v >> 6) & 63];
      b[this.n++] = B64[v & 63];
    }
    if (i < len) {
      const v = (bytes[i] << 16) | (i + 1 < len ? bytes[i + 1] << 8 : 0);
      b[this.n++] = B64[v >> 18];
      b[this.n++] = B64[(v >> 12) & 63];
      b[this.n++] = i + 1 < len ? B64[(v >> 6) & 63] : PAD;
      b[this.n++] = PAD;
    }
  }

  /** The text written since the last take(), as one flat string; the writer starts over. */
  take(): string {
    const s = this.buf.toString('latin1', 0, this.n);
    this.n = 0;
    return s;
  }
}
