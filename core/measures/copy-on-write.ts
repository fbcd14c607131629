// Copy on write for checkpoints encoded after they are taken: the speed layer takes a checkpoint
// synchronously (which cells, which feature entities changed), then encodes the records a slice at
// a time while events go on being processed. Each taken item keeps its slot in the take's records
// while it is not encoded yet; its holder calls `freeze(item)` before any write to it, so the
// record holds the item as it was at the take (docs/speed-layer.md, "Exactly once").

/** An item of a take: its slot in the take's records while not encoded yet, else -1. */
export interface PendingItem {
  pending: number;
}

/**
 * State taken for a checkpoint whose records are encoded later, a slice at a time, with the values
 * as of the take (the aggregator's cells in the order they changed; the feature store's entities).
 */
export interface DeferredRecords<T> {
  /** The records, filled as they are encoded (all filled once encodeSome returned true). */
  readonly out: T[];
  /** Encodes up to `max` more records (those not encoded yet by a write); true when every one is encoded. */
  encodeSome(max: number): boolean;
}

/** One holder's takes: at most one unfinished at a time (starting a take finishes the one before). */
export class CopyOnWrite<T extends PendingItem> {
  private take: { items: T[]; next: number; encodeAt: (item: T, slot: number) => void } | undefined;

  /** Starts a take of `items`, whose `pending` are their slots; returns its encodeSome. */
  start(items: T[], encodeAt: (item: T, slot: number) => void): (max: number) => boolean {
    this.encodeSome(Infinity);
    const take = { items, next: 0, encodeAt };
    this.take = take;
    // a later take finished this one before starting
    return (max) => this.take !== take || this.encodeSome(max);
  }

  /** Starts a take of `items` with one record each (`encode`), in their order; sets their slots. */
  takeEach<R>(items: T[], encode: (item: T) => R): DeferredRecords<R> {
    // the take before is finished first: its items' slots are about to be overwritten
    this.encodeSome(Infinity);
    for (let i = 0; i < items.length; i++) items[i].pending = i;
    const out = new Array<R>(items.length);
    return { out, encodeSome: this.start(items, (item, slot) => (out[slot] = encode(item))) };
  }

  /** Encodes a pending item as it is now: call before changing it. */
  freeze(item: T): void {
    if (item.pending < 0) return;
    this.take!.encodeAt(item, item.pending);
    item.pending = -1;
  }

  /** Encodes up to `max` more pending items of the current take; true when it is complete (or there is none). */
  encodeSome(max: number): boolean {
    const t = this.take;
    if (!t) return true;
    // items encoded by a write already are passed over without counting
    for (let encoded = 0; t.next < t.items.length && encoded < max; t.next++) {
      const item = t.items[t.next];
      if (item.pending >= 0) {
        this.freeze(item);
        encoded++;
      }
    }
    if (t.next < t.items.length) return false;
    this.take = undefined;
    return true;
  }
}
