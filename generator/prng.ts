// Seeded randomness for the generator: sfc32 (fast, 128-bit state, passes PractRand) seeded via
// splitmix32. Nothing in generated content may come from Math.random or the wall clock, so the
// same seed and options always give byte-identical output.

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    for (let i = 0; i < 12; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)];
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.float()) * mean;
  }

  /** Log-normal-ish positive value around `median` (spread = sigma of the log). */
  logNormal(median: number, sigma: number): number {
    // Sum of three uniforms approximates a normal well enough here and is cheap.
    const z = (this.float() + this.float() + this.float() - 1.5) * 2;
    return median * Math.exp(sigma * z);
  }

  /** `chars` lowercase hex digits. */
  hex(chars: number): string {
    // Ids of 16 and 32 digits (request, span and trace ids) are the common case: no slicing.
    if (chars === 16) return HEX8(this.u32()) + HEX8(this.u32());
    if (chars === 32) return HEX8(this.u32()) + HEX8(this.u32()) + HEX8(this.u32()) + HEX8(this.u32());
    let out = '';
    while (out.length < chars) out += HEX8(this.u32());
    return out.slice(0, chars);
  }

  /** RFC 4122 version-4 UUID from this stream. */
  uuid(): string {
    const a = this.u32();
    const b = this.u32();
    const c = this.u32();
    const d = this.u32();
    return (
      HEX8(a) +
      '-' +
      HEX2[(b >>> 24) & 0xff] +
      HEX2[(b >>> 16) & 0xff] +
      '-4' +
      HEX2[(b >>> 8) & 0xff].slice(1) +
      HEX2[b & 0xff] +
      '-' +
      HEX2[0x80 | ((c >>> 24) & 0x3f)] +
      HEX2[(c >>> 16) & 0xff] +
      '-' +
      HEX2[(c >>> 8) & 0xff] +
      HEX2[c & 0xff] +
      HEX8(d)
    );
  }
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function HEX8(n: number): string {
  return HEX2[(n >>> 24) & 0xff] + HEX2[(n >>> 16) & 0xff] + HEX2[(n >>> 8) & 0xff] + HEX2[n & 0xff];
}

/** Samples indexes 0..n-1 with probability ∝ 1/(i+1)^s (Zipf), by binary search on the CDF. */
export class ZipfSampler {
  readonly weights: Float64Array;
  private readonly cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly s: number,
  ) {
    this.weights = new Float64Array(n);
    this.cdf = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) total += 1 / Math.pow(i + 1, s);
    let acc = 0;
    for (let i = 0; i < n; i++) {
      this.weights[i] = 1 / Math.pow(i + 1, s) / total;
      acc += this.weights[i];
      this.cdf[i] = acc;
    }
    this.cdf[n - 1] = 1;
  }

  sample(rng: Rng): number {
    const u = rng.float();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** Picks from a fixed list by weight (a small CDF; for lists of a few dozen items). */
export class WeightedPicker<T> {
  private readonly cdf: number[];

  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    const total = weights.reduce((a, b) => a + b, 0);
    let acc = 0;
    this.cdf = weights.map((w) => (acc += w / total));
    this.cdf[this.cdf.length - 1] = 1;
  }

  pick(rng: Rng): T {
    const u = rng.float();
    for (let i = 0; i < this.cdf.length; i++) if (u < this.cdf[i]) return this.items[i];
    return this.items[this.items.length - 1];
  }
}

// Formatting a Date is the costliest step per event; events come in time order, so the
// "YYYY-MM-DDTHH:MM:SS." prefix of the last few seconds is memoised (pure: same input, same text).
// Sixteen slots: an event's interactions, ingestion and event times span a few seconds.
const SLOTS = 16;
const prefixSecond = new Float64Array(SLOTS).fill(NaN);
const prefixText: string[] = new Array<string>(SLOTS).fill('');
const PAD3: string[] = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));

/** Event time (µs since epoch) → ISO-8601 UTC with six fractional digits. */
export function isoMicros(us: number): string {
  const totalMs = Math.floor(us / 1000);
  const micros = Math.floor(us - totalMs * 1000);
  const second = Math.floor(totalMs / 1000);
  const slot = second & (SLOTS - 1);
  let prefix = prefixText[slot];
  if (prefixSecond[slot] !== second) {
    prefix = new Date(second * 1000).toISOString().slice(0, 20);
    prefixText[slot] = prefix;
    prefixSecond[slot] = second;
  }
  return prefix + PAD3[totalMs - second * 1000] + PAD3[micros] + 'Z';
}
