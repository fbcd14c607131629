// The batch format between the generator worker and the main thread: one transferable
// ArrayBuffer of UTF-8 bytes per batch (key, value, label of each event, back to back) and one
// Int32Array of their byte lengths. Transfer moves the memory without copying; the main thread
// hands kafkajs zero-copy Buffer views, so it neither clones nor re-encodes strings.
import type { OutMessage } from './sinks';

/** A batch of serialized events in wire form. */
export interface EncodedBatch {
  /** Events in the batch. */
  n: number;
  /** UTF-8 bytes: key, value, label per event. */
  buf: ArrayBuffer;
  /** Byte lengths, 3 per event (key, value, label). */
  lens: Int32Array;
}

/** One event of an encoded batch as zero-copy views into its buffer. */
export interface EncodedMessage {
  key: Buffer;
  value: Buffer;
  label: Buffer;
}

export function encodeBatch(batch: readonly OutMessage[]): EncodedBatch {
  const n = batch.length;
  const lens = new Int32Array(n * 3);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const m = batch[i];
    total += lens[3 * i] = Buffer.byteLength(m.key, 'utf8');
    total += lens[3 * i + 1] = Buffer.byteLength(m.value, 'utf8');
    total += lens[3 * i + 2] = Buffer.byteLength(m.label, 'utf8');
  }
  // Not Buffer.allocUnsafe: that may hand out a slice of the shared pool, which cannot be transferred.
  const buf = new ArrayBuffer(total);
  const out = Buffer.from(buf);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const m = batch[i];
    off += out.write(m.key, off, lens[3 * i], 'utf8');
    off += out.write(m.value, off, lens[3 * i + 1], 'utf8');
    off += out.write(m.label, off, lens[3 * i + 2], 'utf8');
  }
  return { n, buf, lens };
}

export function decodeBatch(b: EncodedBatch): EncodedMessage[] {
  const out = new Array<EncodedMessage>(b.n);
  let off = 0;
  for (let i = 0; i < b.n; i++) {
    const k = b.lens[3 * i];
    const v = b.lens[3 * i + 1];
    const l = b.lens[3 * i + 2];
    const key = Buffer.from(b.buf, off, k);
    const value = Buffer.from(b.buf, off + k, v);
    const label = Buffer.from(b.buf, off + k + v, l);
    off += k + v + l;
    out[i] = { key, value, label };
  }
  return out;
}
