// The event stream: interleaves many concurrent shopper sessions (Zipf-sized tenants, daily
// seasonality by the shopper's time zone), platform events (system_event) at a small share,
// labelled fraud campaigns at a configured share of events, and data-quality defects. `next()`
// returns one event with its Kafka key and label.
// Deterministic: the same options (seed included) give the same sequence, byte for byte.
import type { RtapEvent } from '../core/schema/types';
import { DIURNAL } from './catalog';
import { DEFECT_KINDS, EventFactory, FRAUD_SCENARIOS, NORMAL_LABEL, normalJourney, type DefectKind, type FraudScenario, type Label, type Session } from './events';
import { SCENARIOS, type Campaign } from './fraud';
import { systemEvent } from './platform';
import { Rng } from './prng';
import { World } from './world';

export interface GeneratorOptions {
  seed: number;
  tenants: number;
  /** Shoppers across all tenants. */
  users: number;
  /** Simulated start (µs since epoch): event times start here. */
  startUs: number;
  /** Nominal events per second: sets the event-time spacing of events. */
  rate: number;
  /** Simulated seconds per real second (1 = real time; 1440 = a day per minute). */
  timeScale: number;
  /** Share of events that belong to fraud campaigns (labelled). */
  fraudRate: number;
  /** Share of events with a data-quality defect. */
  defectRate: number;
  /** Share of platform events (system_event: health checks, API errors, rate limits, deployments). */
  systemRate: number;
  /** Share of events that arrive minutes to hours late. */
  lateRate: number;
  /** Fraud scenarios to draw from (all by default), with equal shares. */
  scenarios: readonly FraudScenario[];
}

export const DEFAULT_OPTIONS: GeneratorOptions = {
  seed: 1,
  tenants: 1000,
  users: 50_000,
  startUs: Date.UTC(2026, 0, 1) * 1000,
  rate: 1000,
  timeScale: 1,
  fraudRate: 0.01,
  defectRate: 0.01,
  systemRate: 0.015,
  lateRate: 0.02,
  scenarios: FRAUD_SCENARIOS,
};

export interface GeneratedEvent {
  /** A 2.1 event, or a deliberately broken one when `label.defect` says so. */
  event: RtapEvent;
  /** Kafka key: `tenant_id:user_id` (anonymous id for guests). */
  key: string;
  label: Label;
}

interface Active {
  session: Session;
  it: Generator<RtapEvent, void, void>;
}

export class EventGenerator {
  readonly options: GeneratorOptions;
  readonly world: World;
  private readonly rng: Rng;
  private readonly f: EventFactory;
  private readonly pool: (Active | undefined)[];
  private readonly campaigns = new Map<FraudScenario, Campaign>();
  private campaignCount = 0;
  private last: GeneratedEvent | undefined;
  count = 0;

  constructor(options: Partial<GeneratorOptions> = {}) {
    const o = { ...DEFAULT_OPTIONS, ...options };
    if (o.scenarios.length === 0 && o.fraudRate > 0) throw new Error('fraudRate > 0 needs at least one scenario');
    this.options = o;
    this.rng = new Rng(o.seed);
    this.world = new World({ seed: o.seed, tenants: o.tenants, users: o.users, startUs: o.startUs });
    this.f = new EventFactory(this.rng, this.world, o.startUs, { gapUs: (1e6 * o.timeScale) / o.rate, lateRate: o.lateRate });
    // Enough concurrent sessions that a session's events are ~15 simulated seconds apart.
    const poolSize = Math.min(20_000, Math.max(64, Math.round((15 * o.rate) / o.timeScale)));
    this.pool = new Array<Active | undefined>(poolSize).fill(undefined);
  }

  /** Simulated ingestion time of the latest event (µs since epoch). */
  get clockUs(): number {
    return this.f.clockUs;
  }

  next(): GeneratedEvent {
    const rng = this.rng;
    const o = this.options;
    this.f.tick();
    this.count++;
    let defect: DefectKind | undefined;
    if (o.defectRate > 0 && rng.float() < o.defectRate) {
      defect = DEFECT_KINDS[rng.int(DEFECT_KINDS.length)];
      // Duplicates repeat a clean event (a duplicate of a broken one would hide its first defect).
      if (defect === 'duplicate' && this.last && !this.last.label.defect) {
        return { event: this.last.event, key: this.last.key, label: { ...this.last.label, defect } };
      }
      if (defect === 'duplicate') defect = undefined;
    }
    let event: RtapEvent;
    let key: string;
    let label: Label;
    if (o.systemRate > 0 && rng.float() < o.systemRate) {
      const p = systemEvent(this.f, this.world.tenants[this.world.tenantPicker.sample(rng)]);
      event = p.event;
      key = p.key;
      label = NORMAL_LABEL;
    } else {
      let session: Session;
      if (o.fraudRate > 0 && rng.float() < o.fraudRate) {
        event = this.nextFraud(o.scenarios[rng.int(o.scenarios.length)]);
        session = this.f.lastSession!;
      } else {
        const slot = rng.int(this.pool.length);
        for (;;) {
          let active = this.pool[slot];
          if (!active) {
            active = this.newShopper();
            this.pool[slot] = active;
          }
          const r = active.it.next();
          if (!r.done) {
            event = r.value;
            session = active.session;
            break;
          }
          this.pool[slot] = undefined;
        }
      }
      key = session.key;
      label = session.label;
    }
    if (defect) {
      applyDefect(event, defect, rng);
      label = { ...label, defect };
    }
    const out: GeneratedEvent = { event, key, label };
    this.last = out;
    return out;
  }

  private newShopper(): Active {
    const rng = this.rng;
    const hourUtc = this.f.clockUs / 3.6e9;
    let tenant = this.world.tenants[this.world.tenantPicker.sample(rng)];
    let user = this.world.user(tenant, Math.floor(tenant.userPool * rng.float() ** 2));
    // Daily seasonality: shoppers whose local time is night mostly stay away.
    for (let tries = 0; tries < 4; tries++) {
      const local = Math.floor((((hourUtc + user.country.utcOffset) % 24) + 24) % 24);
      if (rng.float() < DIURNAL[local]) break;
      tenant = this.world.tenants[this.world.tenantPicker.sample(rng)];
      user = this.world.user(tenant, Math.floor(tenant.userPool * rng.float() ** 2));
    }
    const session = this.f.newSession(tenant, user);
    return { session, it: normalJourney(this.f, session) };
  }

  private nextFraud(scenario: FraudScenario): RtapEvent {
    for (;;) {
      let c = this.campaigns.get(scenario);
      if (!c) {
        let tenant = this.world.tenants[this.world.tenantPicker.sample(this.rng)];
        // Reshipping needs goods that ship.
        for (let i = 0; i < 20 && scenario === 'shipping_fraud' && !tenant.vertical.ships; i++) tenant = this.world.tenants[this.world.tenantPicker.sample(this.rng)];
        const campaign = `fc_${String(++this.campaignCount).padStart(6, '0')}`;
        c = SCENARIOS[scenario]({ f: this.f, campaign, tenant });
        this.campaigns.set(scenario, c);
      }
      const r = c.next();
      if (!r.done) return r.value;
      this.campaigns.delete(scenario);
    }
  }

}

/** Breaks an event in place the way real producers do. Only per-event objects are touched. */
type Loose = Record<string, unknown>;

export function applyDefect(event: RtapEvent, kind: DefectKind, rng: Rng): void {
  const e = event as unknown as { tenant_id?: unknown; event_metadata: Loose; event_data: Loose & { user_context: { session_data: Loose } } };
  const which = rng.int(4);
  switch (kind) {
    case 'missing_field':
      if (which === 0) delete e.tenant_id;
      else if (which === 1) delete e.event_metadata.event_id;
      else if (which === 2) delete e.event_data.event_type;
      else delete e.event_data.user_context.session_data.session_id;
      break;
    case 'wrong_type':
      if (which === 0) e.event_data.user_context.session_data.session_sequence = String(e.event_data.user_context.session_data.session_sequence);
      else if (which === 1) e.event_metadata.timestamp = Date.parse(e.event_metadata.timestamp as string);
      else if (which === 2) e.tenant_id = Number(String(e.tenant_id).slice(2));
      else e.event_metadata.source_system = 7;
      break;
    case 'bad_timestamp':
      e.event_metadata.timestamp = ['2026-13-45T25:61:00.000000Z', 'yesterday', '', '12/31/2025 23:59'][which];
      break;
    case 'duplicate':
      break;
    case 'unknown_value': {
      // A value outside the brief's known set: accepted at ingestion, with a value warning.
      const choices = UNKNOWN_VALUES.filter(([path]) => has(event, path));
      const [path, values] = choices[rng.int(choices.length)];
      setCopied(event as unknown as Loose, path, values[rng.int(values.length)]);
      break;
    }
  }
}

type Path = readonly (string | number)[];
const BC = ['event_data', 'business_context'];
const PAYMENT = [...BC, 'transaction_context', 'cart_context', 'payment_context'];
/** Fields an `unknown_value` defect may set, with values real producers send that the brief does not name. */
const UNKNOWN_VALUES: readonly (readonly [Path, readonly string[]])[] = [
  [[...BC, 'tenant_metadata', 'industry_vertical'], ['home_garden', 'beauty', 'travel']],
  [[...BC, 'tenant_metadata', 'merchant_tier'], ['mid_market', 'smb']],
  [[...BC, 'interaction_context', 'page_context', 'page_type'], ['landing_page', 'cart', 'account']],
  [[...PAYMENT, 'shipping_context', 'shipping_method', 'carrier'], ['royal_mail', 'dpd', 'UPS']],
  [[...PAYMENT, 'payment_methods', 0, 'method_type'], ['gift_card', 'bank_transfer', 'card']],
  [['event_data', 'user_context', 'user_profile', 'account_type'], ['guest', 'business']],
];

function has(root: unknown, path: Path): boolean {
  let node = root;
  for (const step of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<string | number, unknown>)[step];
  }
  return node !== undefined;
}

/** Sets a field, copying every object on the way so objects shared with other events stay untouched. */
function setCopied(root: Record<string, unknown>, path: Path, value: unknown): void {
  let parent = root as Record<string | number, unknown>;
  for (let i = 0; i < path.length - 1; i++) {
    const child = parent[path[i]] as Record<string | number, unknown>;
    const copy = Array.isArray(child) ? (child.slice() as unknown as Record<string | number, unknown>) : { ...child };
    parent[path[i]] = copy;
    parent = copy;
  }
  parent[path[path.length - 1]] = value;
}
