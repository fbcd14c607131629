// The batch format between the generator worker and the main thread: one transferable
// ArrayBuffer per batch holding the byte lengths (Int32, 3 per event) followed by the UTF-8 bytes
// of each event's key, value and label, back to back. Transfer moves the memory without copying;
// the main thread hands kafkajs zero-copy Buffer views, so it neither clones nor re-encodes
// strings, and sends the buffer back for reuse once the send has settled.
import type { OutMessage } from './sinks';

/** A batch of serialized events in wire form. */
export interface EncodedBatch {
  /** Events in the batch. */
  n: number;
  /** `3n` Int32 byte lengths (key, value, label per event), then the bytes; may have unused room at the end. */
  buf: ArrayBuffer;
}

/** One event of an encoded batch as zero-copy views into its buffer. */
export interface EncodedMessage {
  key: Buffer;
  value: Buffer;
  label: Buffer;
}

/**
 * Encodes a batch. `reuse` may supply a buffer (one sent back by the main thread) of at least the
 * given size; otherwise a new one is allocated, with headroom when reuse is on.
 */
export function encodeBatch(batch: readonly OutMessage[], reuse?: (bytes: number) => ArrayBuffer | undefined): EncodedBatch {
  const n = batch.length;
  const head = n * 3 * 4;
  const lens = new Int32Array(n * 3);
  let total = head;
  for (let i = 0; i < n; i++) {
    const m = batch[i];
    total += lens[3 * i] = Buffer.byteLength(m.key, 'utf8');
    total += lens[3 * i + 1] = Buffer.byteLength(m.value, 'utf8');
    total += lens[3 * i + 2] = Buffer.byteLength(m.label, 'utf8');
  }
  // Not Buffer.allocUnsafe: that may hand out a slice of the shared pool, which cannot be transferred.
  const buf = reuse?.(total) ?? new ArrayBuffer(reuse ? Math.ceil(total * 1.25) : total);
  new Int32Array(buf, 0, n * 3).set(lens);
  const out = Buffer.from(buf, 0, total);
  let off = head;
  for (let i = 0; i < n; i++) {
    const m = batch[i];
    off += out.write(m.key, off, lens[3 * i], 'utf8');
    off += out.write(m.value, off, lens[3 * i + 1], 'utf8');
    off += out.write(m.label, off, lens[3 * i + 2], 'utf8');
  }
  return { n, buf };
}

export function decodeBatch(b: EncodedBatch): EncodedMessage[] {
  const lens = new Int32Array(b.buf, 0, b.n * 3);
  const out = new Array<EncodedMessage>(b.n);
  let off = b.n * 3 * 4;
  for (let i = 0; i < b.n; i++) {
    const k = lens[3 * i];
    const v = lens[3 * i + 1];
    const l = lens[3 * i + 2];
    const key = Buffer.from(b.buf, off, k);
    const value = Buffer.from(b.buf, off + k, v);
    const label = Buffer.from(b.buf, off + k + v, l);
    off += k + v + l;
    out[i] = { key, value, label };
  }
  return out;
}
