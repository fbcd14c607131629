// An idle sweep spread over the updates that pay for it. The speed layer's in-memory tables (the
// feature store, the fraud engine's memory, graph and look-back) drop what has been idle too long.
// Scanning a whole table every N updates held the events behind that one update for the length of
// the scan: 40–60 ms for a partition's ~50,000 feature entities, about every 1.6 s at 10,000
// events/s — one of the layer's recurring stalls (docs/speed-bench.md, "2026-11-29 14:00").
// A sweep here examines a few items per update instead (2 × items / `every`), resuming where it
// stopped, so that each item is still examined at least once every `every` updates.

export interface IncrementalSweep {
  /** Called once per update: examines this update's share of the items. */
  step(): void;
}

export interface IncrementalSweepOptions<T> {
  /** A fresh iterator over the items (a pass). It must tolerate `visit` deleting the item it is at, as Map iterators do. */
  items: () => Iterator<T>;
  /** How many items there are now. */
  size: () => number;
  /** Every item is examined at least once in any `every` consecutive updates (1: at every update). */
  every: number;
  /** Examines one item (and drops it when idle). */
  visit: (item: T) => void;
}

export function createIncrementalSweep<T>(opts: IncrementalSweepOptions<T>): IncrementalSweep {
  if (!(opts.every >= 1)) throw new RangeError('sweep: every must be ≥ 1');
  let it: Iterator<T> | undefined;
  /** Items at the start of the current pass: the pace holds while a pass drops what it sweeps. */
  let passSize = 0;
  /** Items owed, times `every` (whole numbers: fewer items than updates per pass means one item every few updates). */
  let credit = 0;
  return {
    step() {
      const items = Math.max(opts.size(), passSize);
      // two passes per `every` steps: an item is then examined within `every` steps wherever the
      // pass stood when it was last seen; at most one whole pass per step, however much was owed
      credit = Math.min(credit + 2 * items, items * opts.every);
      let fresh = false;
      while (credit >= opts.every) {
        if (!it) {
          it = opts.items();
          passSize = opts.size();
          fresh = true;
        }
        const r = it.next();
        if (r.done) {
          // a pass is over: the next starts at the beginning (unless there is nothing at all)
          it = undefined;
          if (fresh) {
            credit = 0;
            passSize = 0;
            return;
          }
          continue;
        }
        fresh = false;
        credit -= opts.every;
        opts.visit(r.value);
      }
    },
  };
}
