// Builds 2.1 events, in the brief's exact shapes, for a session. Per-event work is kept lean:
// tenant metadata, user profiles, products, session attributes, hosts, touchpoint journeys and
// experiment assignments are built once and shared by reference; only the per-event parts (ids,
// times, page, interactions, cart totals, telemetry, model scores) are new objects. Which
// sub-objects an event carries depends on its subtype (SUBTYPES below; docs/generator.md lists
// the rates). Content comes from the seeded stream and the simulated clock only.
import type {
  ActiveExperiment,
  Address,
  CartContext,
  EventType,
  FeatureFlag,
  MlContext,
  PageContext,
  PaymentMethod,
  ProcessingFlags,
  Product,
  RtapEvent,
  SessionAttributes,
  SourceSystem,
  TechnicalContext,
  Touchpoint,
  UserContext,
  UserInteraction,
} from '../core/schema/types';
import {
  CAMPAIGNS,
  CARRIERS_BY_COUNTRY,
  DEFAULT_CARRIERS,
  EXPERIMENTS,
  FEATURE_FLAGS,
  PAID_TOUCHPOINTS,
  PROMOTIONS,
  REGIONS,
  SERVICE_DAYS,
  SERVICE_LEVEL_WEIGHTS,
  SERVICE_LEVELS,
  TOUCHPOINT_WEIGHTS,
  TOUCHPOINTS,
  type Carrier,
  type Promotion,
  type ServiceLevel,
  type UserAgent,
} from './catalog';
import { priceCart, type CustomerTier, type PricedLine } from './cart';
import { isoMicros, WeightedPicker, type Rng } from './prng';
import { round2, round3, type Tenant, type User, type World } from './world';

/** Ground truth carried beside an event (Kafka header `x-rtap-label`, or the labels side file). */
export interface Label {
  fraud: boolean;
  scenario?: FraudScenario;
  campaign?: string;
  role?: string;
  defect?: DefectKind;
}

export const FRAUD_SCENARIOS = [
  'card_testing',
  'account_takeover',
  'coordinated_attack',
  'synthetic_identity',
  'promo_abuse',
  'impossible_travel',
  'bot',
  'price_manipulation',
  'inventory_manipulation',
  'return_fraud',
  'shipping_fraud',
] as const;
export type FraudScenario = (typeof FRAUD_SCENARIOS)[number];

/**
 * Data-quality defects. All but `unknown_value` make the event invalid (dead-lettered);
 * `unknown_value` puts a value outside the brief's known set into a descriptive field, which is
 * accepted with a value warning.
 */
export const DEFECT_KINDS = ['missing_field', 'wrong_type', 'bad_timestamp', 'duplicate', 'unknown_value'] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

export const NORMAL_LABEL: Label = Object.freeze({ fraud: false });

export interface CartLine {
  product: Product;
  quantity: number;
}

type SecurityFlags = { suspicious_user_agent: boolean; tor_exit_node: boolean; known_bot: boolean; geo_blocked: boolean };
type ExperimentContext = { active_experiments: ActiveExperiment[]; feature_flags: FeatureFlag[] };
type TransactionContext = NonNullable<NonNullable<RtapEvent['event_data']['business_context']>['transaction_context']>;

/** How the current order ships and is paid for: drawn once per cart, so every step of one order agrees. */
interface OrderChoice {
  cartId: string;
  serviceLevel: ServiceLevel;
  carrier: Carrier;
  redeemPoints: number;
}

export interface Session {
  tenant: Tenant;
  user: User;
  id: string;
  startIso: string;
  startUs: number;
  seq: number;
  lastEventId: string | null;
  lastUrl: string | undefined;
  source: SourceSystem;
  key: string;
  attributes: SessionAttributes;
  touchpoints: Touchpoint[];
  experiments: ExperimentContext | undefined;
  securityFlags: SecurityFlags;
  cart: CartLine[];
  cartId: string;
  label: Label;
  /** Bots and scripts send no mouse/keyboard interactions. */
  scripted: boolean;
  /** interaction_sequence of the session's last user interaction. */
  interactions: number;
  viewport: { w: number; h: number };
  hosts: readonly Host[];
  /** Product ids of the latest recommendation served in the session. */
  recommended: string[] | undefined;
  /** Payment attempts so far (velocity). */
  payments: number;
  order: OrderChoice | undefined;
}

export interface SessionOptions {
  device?: string;
  geolocation?: User['geolocation'];
  ua?: UserAgent;
  source?: SourceSystem;
  label?: Label;
  scripted?: boolean;
  securityFlags?: Session['securityFlags'];
}

export interface ClockOptions {
  /** Event-time µs between two emitted events, on average. */
  gapUs: number;
  /** Share of events that arrive minutes to hours after their event time. */
  lateRate: number;
}

export interface CartOptions {
  payment?: PaymentMethod;
  declined?: boolean;
  declineCode?: string;
  promo?: Promotion;
  shipTo?: Address;
  serviceLevel?: ServiceLevel;
  /** Charge this subtotal instead of the cart's (card testing). */
  amount?: number;
  /** Multiply list prices by this (client-side price tampering). */
  priceOverride?: number;
  firstTimePayment?: boolean;
  velocity?: boolean;
}

// ---- static tables ---------------------------------------------------------------------------

/** A server that handled the event (technical_context.infrastructure_metadata). */
export type Host = {
  processing_region: string;
  availability_zone: string;
  server_instance: string;
  load_balancer: string;
  cdn_edge_location: string;
};

/** Six API servers per region, behind two load balancers. */
export const HOSTS: Record<string, readonly Host[]> = Object.fromEntries(
  Object.values(REGIONS).map((r, ri) => [
    r.region,
    Array.from({ length: 6 }, (_, i): Host =>
      Object.freeze({
        processing_region: r.region,
        availability_zone: r.zones[i % r.zones.length],
        server_instance: `api-node-${ri * 6 + i + 1}`,
        load_balancer: `alb-prod-${r.region.split('-')[0]}-${String(ri + 1).padStart(2, '0')}${i % 2 === 0 ? 'a' : 'b'}`,
        cdn_edge_location: r.edges[i % r.edges.length],
      }),
    ),
  ]),
);

const FLAGS = {
  browse: Object.freeze({ requires_enrichment: true, pii_contains: true, gdpr_subject: true, audit_required: false }),
  account: Object.freeze({ requires_enrichment: false, pii_contains: true, gdpr_subject: true, audit_required: true }),
  transaction: Object.freeze({ requires_enrichment: true, pii_contains: true, gdpr_subject: true, audit_required: true }),
  ml: Object.freeze({ requires_enrichment: false, pii_contains: false, gdpr_subject: true, audit_required: true }),
  system: Object.freeze({ requires_enrichment: false, pii_contains: false, gdpr_subject: false, audit_required: true }),
} satisfies Record<string, ProcessingFlags>;
export const SYSTEM_FLAGS: ProcessingFlags = FLAGS.system;

const lineage = (upstream: string[], transforms: string[], downstream: string[]) =>
  Object.freeze({ upstream_systems: upstream, transformation_applied: transforms, downstream_targets: downstream });
export const LINEAGE = {
  account: lineage(['identity_service'], ['pii_tokenization'], ['data_lake', 'audit_log']),
  transaction: lineage(['checkout_service', 'product_catalog', 'payment_gateway'], ['pii_tokenization', 'geo_enrichment', 'currency_normalization'], ['data_lake', 'ml_feature_store', 'audit_log']),
  ml: lineage(['feature_store', 'model_server'], ['feature_assembly'], ['data_lake', 'ml_monitoring']),
  system: lineage(['api_gateway', 'observability_agent'], ['metric_aggregation'], ['data_lake', 'alerting']),
};

type PageKind = 'product' | 'category' | 'search' | 'checkout' | 'account';
type PageType = 'product_detail' | 'category' | 'checkout' | 'search_results';
const PAGE_TYPE: Record<PageKind, PageType | undefined> = { product: 'product_detail', category: 'category', search: 'search_results', checkout: 'checkout', account: undefined };

/** What an event of each subtype carries. */
interface Desc {
  type: EventType;
  flags: ProcessingFlags;
  /** The page the event happened on (none: a server-side event). */
  page?: PageKind;
  /** A page load (page_load_metrics) rather than an action on a loaded page. */
  load: boolean;
  /** Interaction ending the list (the click that caused the event). */
  last?: readonly [UserInteraction['interaction_type'], string];
  /** When the user profile is attached: on every event, on the session's first event, or never. */
  profile: 'always' | 'landing' | 'never';
  /** When the touchpoint journey is attached. */
  journey: 'always' | 'landing' | 'never';
  experiments: boolean;
  email: boolean;
  lineage?: Record<string, unknown>;
  /** Full performance telemetry (memory, CPU, spans) rather than the lean request timing. */
  full: boolean;
  /** Server-side events come from the API whatever the session's source. */
  source?: SourceSystem;
}

const d = (type: EventType, o: Partial<Desc>): Desc => ({
  type,
  flags: type === 'transaction' ? FLAGS.transaction : type === 'ml_inference' ? FLAGS.ml : type === 'system_event' ? FLAGS.system : FLAGS.browse,
  load: false,
  profile: 'never',
  journey: 'never',
  experiments: false,
  email: false,
  full: type !== 'user_interaction',
  ...o,
});

export const SUBTYPES: Record<string, Desc> = {
  page_view: d('user_interaction', { page: 'product', load: true, profile: 'landing', journey: 'landing', experiments: true }),
  search: d('user_interaction', { page: 'search', load: true, last: ['form_input', 'search_box'], profile: 'landing', journey: 'landing', experiments: true }),
  recommendation_click: d('user_interaction', { page: 'product', load: true, profile: 'landing', journey: 'landing', experiments: true }),
  add_to_cart: d('user_interaction', { page: 'product', last: ['click', 'add_to_cart_button'], profile: 'landing', journey: 'landing', experiments: true }),
  login: d('user_interaction', { flags: FLAGS.account, page: 'account', load: true, last: ['click', 'login_button'], profile: 'always', journey: 'landing', email: true, lineage: LINEAGE.account }),
  account_created: d('user_interaction', { flags: FLAGS.account, page: 'account', load: true, last: ['click', 'create_account_button'], profile: 'always', journey: 'landing', email: true, lineage: LINEAGE.account }),
  password_change: d('user_interaction', { flags: FLAGS.account, page: 'account', last: ['click', 'save_password_button'], profile: 'always', email: true, lineage: LINEAGE.account }),
  address_change: d('user_interaction', { flags: FLAGS.account, page: 'account', last: ['click', 'save_address_button'], profile: 'always', email: true, lineage: LINEAGE.account }),
  checkout: d('transaction', { page: 'checkout', load: true, profile: 'always', journey: 'always', experiments: true, email: true, lineage: LINEAGE.transaction }),
  payment_attempt: d('transaction', { page: 'checkout', last: ['click', 'pay_button'], email: true, lineage: LINEAGE.transaction }),
  purchase: d('transaction', { page: 'checkout', load: true, last: ['click', 'place_order_button'], journey: 'always', email: true, lineage: LINEAGE.transaction }),
  refund: d('transaction', { email: true, lineage: LINEAGE.transaction, source: 'api' }),
  fraud_score: d('ml_inference', { lineage: LINEAGE.ml, source: 'api' }),
  recommendation: d('ml_inference', { lineage: LINEAGE.ml, source: 'api' }),
  churn_prediction: d('ml_inference', { profile: 'always', lineage: LINEAGE.ml, source: 'api' }),
  rate_limit_hit: d('system_event', { lineage: LINEAGE.system, source: 'api' }),
};

/** Elements users interact with, by page (type, element id). */
const ELEMENTS: Record<PageKind, readonly (readonly [UserInteraction['interaction_type'], string])[]> = {
  product: [['scroll', 'product_description'], ['hover', 'product_gallery'], ['click', 'size_selector'], ['click', 'reviews_tab'], ['scroll', 'reco_carousel'], ['hover', 'price_block']],
  category: [['scroll', 'product_grid'], ['click', 'filter_panel'], ['click', 'sort_dropdown'], ['hover', 'product_tile']],
  search: [['scroll', 'results_list'], ['click', 'filter_panel'], ['hover', 'search_result']],
  checkout: [['form_input', 'shipping_form'], ['form_input', 'payment_form'], ['click', 'promo_code_field'], ['scroll', 'order_summary']],
  account: [['form_input', 'email_input'], ['form_input', 'password_input'], ['click', 'remember_me']],
};
const INTERACTION_COUNT = new WeightedPicker([0, 1, 2, 3], [15, 40, 30, 15]);
/** Interactions before the one that caused the event (add to cart, pay…). */
const INTERACTIONS_BEFORE = new WeightedPicker([0, 1, 2], [50, 35, 15]);
const VIEWPORTS = { mobile: { w: 390, h: 844 }, tablet: { w: 820, h: 1180 }, desktop: { w: 1440, h: 900 } };
const CLEAN_FLAGS: SecurityFlags = Object.freeze({ suspicious_user_agent: false, tor_exit_node: false, known_bot: false, geo_blocked: false });
const TOUCHPOINT_PICKER = new WeightedPicker(TOUCHPOINTS, TOUCHPOINT_WEIGHTS);
const SERVICE_PICKER = new WeightedPicker(SERVICE_LEVELS, SERVICE_LEVEL_WEIGHTS);
const REASONS = ['collaborative_filtering', 'content_similarity', 'frequently_bought_together', 'trending', 'recently_viewed'];
const DAY_US = 86_400_000_000;

/** Every variant of every experiment as a shared assignment object. */
const ASSIGNMENTS: readonly (readonly ActiveExperiment[])[] = EXPERIMENTS.map((x) =>
  x.variants.map((variant) => Object.freeze({ experiment_id: x.experiment_id, variant, allocation_timestamp: isoMicros(x.startMs * 1000), experiment_type: x.experiment_type })),
);
/** Every flag as shared objects: [off, ...one per enabled variant]. */
const FLAG_STATES: readonly (readonly FeatureFlag[])[] = FEATURE_FLAGS.map((fl) => [
  Object.freeze({ flag_name: fl.flag_name, enabled: false, variant: 'off', rollout_percentage: fl.rollout_percentage }),
  ...fl.variants.map((variant) => Object.freeze({ flag_name: fl.flag_name, enabled: true, variant, rollout_percentage: fl.rollout_percentage })),
]);

/** FNV-1a hash of a user id: the seed of the user's experiment and flag buckets. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h;
}

/** A stable bucket 0–99 of a user (by its id hash) for one experiment or flag. */
function bucket(hash: number, salt: number): number {
  let h = Math.imul(hash ^ Math.imul(salt + 1, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) % 100;
}

/** Attribution weights by time decay (each touchpoint counts twice the one before), summing to exactly 1 at 3 decimals. */
export function attributionWeights(n: number): number[] {
  const total = 2 ** n - 1;
  const w: number[] = [];
  let sum = 0;
  for (let i = 0; i < n - 1; i++) {
    const x = Math.round((2 ** i / total) * 1000);
    w.push(x / 1000);
    sum += x;
  }
  w.push((1000 - sum) / 1000);
  return w;
}

export class EventFactory {
  /** Emission (ingestion) time of the event being built, µs since epoch. */
  clockUs: number;
  /** The session the latest event was built for. */
  lastSession: Session | undefined;

  constructor(
    readonly rng: Rng,
    readonly world: World,
    startUs: number,
    readonly clock: ClockOptions,
  ) {
    this.clockUs = startUs;
  }

  /** Advances the simulated clock by one inter-arrival gap. */
  tick(): void {
    this.clockUs += this.rng.exp(this.clock.gapUs);
  }

  /** Event time of an event emitted now: a network delay earlier, and for some events minutes to hours. */
  eventTimeUs(): number {
    let us = this.clockUs - this.rng.logNormal(90_000, 0.9);
    if (this.clock.lateRate > 0 && this.rng.float() < this.clock.lateRate) us -= this.rng.range(60, 7_200) * 1_000_000;
    return us;
  }

  newSession(tenant: Tenant, user: User, o: SessionOptions = {}): Session {
    const rng = this.rng;
    const startUs = this.clockUs;
    const ua = o.ua ?? user.ua;
    const n = rng.chance(0.45) ? 1 : rng.chance(0.6) ? 2 : rng.chance(0.7) ? 3 : 4;
    const weights = attributionWeights(n);
    const touchpoints: Touchpoint[] = [];
    let at = startUs - rng.range(5, 120) * 1_000_000;
    const stamps: number[] = [at];
    for (let i = 1; i < n; i++) stamps.push((at -= rng.range(600, 5 * 86_400) * 1_000_000));
    for (let i = 0; i < n; i++) {
      const touchpoint = i === n - 1 && n > 1 && rng.chance(0.3) ? 'direct' : TOUCHPOINT_PICKER.pick(rng);
      const tp: Touchpoint = PAID_TOUCHPOINTS.has(touchpoint)
        ? { touchpoint, campaign_id: `${CAMPAIGNS[rng.int(CAMPAIGNS.length)]}_${tenant.idx % 100}`, timestamp: isoMicros(stamps[n - 1 - i]), attribution_weight: weights[i] }
        : { touchpoint, timestamp: isoMicros(stamps[n - 1 - i]), attribution_weight: weights[i] };
      touchpoints.push(tp);
    }
    const landing = touchpoints[n - 1].touchpoint;
    const subject = user.guest ? user.anonymousId : user.id;
    let experiments: ExperimentContext | undefined;
    if (rng.chance(0.7)) {
      const h = hashId(subject);
      const active: ActiveExperiment[] = [];
      const first = rng.int(EXPERIMENTS.length);
      for (let k = 0; k < (rng.chance(0.4) ? 2 : 1); k++) {
        const x = (first + k * 2) % EXPERIMENTS.length;
        active.push(ASSIGNMENTS[x][bucket(h, x) % ASSIGNMENTS[x].length]);
      }
      const flags: FeatureFlag[] = [];
      const f0 = rng.int(FEATURE_FLAGS.length);
      for (let k = 0; k < (rng.chance(0.5) ? 2 : 1); k++) {
        const x = (f0 + k) % FEATURE_FLAGS.length;
        const states = FLAG_STATES[x];
        const b = bucket(h, 100 + x);
        flags.push(b < FEATURE_FLAGS[x].rollout_percentage ? states[1 + (b % (states.length - 1))] : states[0]);
      }
      experiments = { active_experiments: active, feature_flags: flags };
    }
    const deviceType = ua.device.type;
    return {
      tenant,
      user,
      id: rng.uuid(),
      startIso: isoMicros(startUs),
      startUs,
      seq: 0,
      lastEventId: null,
      lastUrl: landing === 'direct' ? undefined : `https://www.${landing.split('_')[0]}.example/`,
      source: o.source ?? (deviceType === 'mobile' ? (rng.chance(0.6) ? 'mobile_app' : 'web_app') : 'web_app'),
      key: `${tenant.id}:${subject}`,
      attributes: {
        device_fingerprint: o.device ?? user.device,
        geolocation: o.geolocation ?? user.geolocation,
        user_agent_parsed: ua === user.ua ? user.uaParsed : { browser: ua.browser, os: ua.os, device: ua.device },
      },
      touchpoints,
      experiments,
      securityFlags: o.securityFlags ?? CLEAN_FLAGS,
      cart: [],
      cartId: `cart_${rng.uuid()}`,
      label: o.label ?? NORMAL_LABEL,
      scripted: o.scripted ?? false,
      interactions: 0,
      viewport: deviceType === 'mobile' ? VIEWPORTS.mobile : deviceType === 'tablet' ? VIEWPORTS.tablet : VIEWPORTS.desktop,
      hosts: HOSTS[user.region.region],
      recommended: undefined,
      payments: 0,
      order: undefined,
    };
  }

  /** Starts a new cart in the session (a new order). */
  newCart(s: Session, lines: CartLine[] = []): void {
    s.cart = lines;
    s.cartId = `cart_${this.rng.uuid()}`;
    s.order = undefined;
  }

  /**
   * The common envelope of every session event. `path` is the page (absent for server-side
   * events), `pageKind` overrides the subtype's page (category pages are page views).
   */
  build(s: Session, subtype: string, p: { path?: string; pageKind?: PageKind; tx?: TransactionContext; ml?: MlContext; telemetry?: Record<string, unknown>; rateLimitRemaining?: number } = {}): RtapEvent {
    const rng = this.rng;
    const desc = SUBTYPES[subtype];
    const eventUs = this.eventTimeUs();
    const eventId = rng.uuid();
    const user = s.user;
    const seq = s.seq++;
    const landing = seq === 0;

    const userContext: UserContext = {
      user_id: user.guest ? undefined : user.id,
      anonymous_id: user.anonymousId,
      // Guests give an email at checkout too.
      email: desc.email ? user.email : undefined,
      session_data: { session_id: s.id, session_start: s.startIso, session_sequence: seq, session_attributes: s.attributes },
    };
    if (user.profile && (desc.profile === 'always' || (desc.profile === 'landing' && landing))) userContext.user_profile = user.profile;

    let interaction: NonNullable<NonNullable<RtapEvent['event_data']['business_context']>['interaction_context']> | undefined;
    const kind = p.pageKind ?? desc.page;
    let url: string | undefined;
    if (kind !== undefined && p.path !== undefined) {
      url = s.tenant.origin + p.path;
      const page: PageContext = {};
      const pageType = PAGE_TYPE[kind];
      if (pageType !== undefined) page.page_type = pageType;
      page.page_url = url;
      if (s.lastUrl !== undefined) page.referrer_url = s.lastUrl;
      if (desc.load) page.page_load_metrics = this.pageLoad(s);
      if (!s.scripted) {
        const list = this.interactions(s, kind, desc.last, eventUs);
        if (list.length > 0) page.user_interactions = list;
      }
      interaction = { page_context: page };
    }
    if (desc.journey === 'always' || (desc.journey === 'landing' && landing)) (interaction ??= {}).touchpoint_journey = s.touchpoints;
    if (desc.experiments && s.experiments) (interaction ??= {}).experiment_context = s.experiments;

    const event: RtapEvent = {
      schema_version: '2.1',
      tenant_id: s.tenant.id,
      partition_key: s.key,
      event_metadata: {
        event_id: eventId,
        correlation_id: s.id,
        causation_id: s.lastEventId,
        timestamp: isoMicros(eventUs),
        ingestion_timestamp: isoMicros(this.clockUs),
        source_system: desc.source ?? s.source,
        event_version: '2.1.0',
        processing_flags: desc.flags,
      },
      event_data: {
        event_type: desc.type,
        event_subtype: subtype,
        user_context: userContext,
        business_context: {
          tenant_metadata: s.tenant.meta,
          transaction_context: p.tx,
          interaction_context: interaction,
        },
        technical_context: this.technical(s, desc, p.telemetry, p.rateLimitRemaining),
      },
    };
    if (p.ml) event.ml_context = p.ml;
    s.lastEventId = eventId;
    if (url !== undefined) s.lastUrl = url;
    this.lastSession = s;
    return event;
  }

  pageLoad(s: Session): Record<string, number> {
    const rng = this.rng;
    // One log-normal "how fast is this load" factor drives the paint times (they move together);
    // layout shift and input delay vary on their own.
    const speed = rng.logNormal(1, 0.5) * (s.viewport === VIEWPORTS.desktop ? 1 : 1.5);
    const ttfb = Math.round(80 * speed * (0.7 + rng.float() * 0.6));
    const fcp = ttfb + Math.round(450 * speed * (0.7 + rng.float() * 0.6));
    return {
      time_to_first_byte: ttfb,
      first_contentful_paint: fcp,
      largest_contentful_paint: fcp + Math.round(rng.exp(400 * speed)),
      cumulative_layout_shift: round3(rng.float() ** 3 * 0.3),
      first_input_delay: Math.round(rng.exp(12 * speed)),
    };
  }

  interactions(s: Session, kind: PageKind, last: Desc['last'], eventUs: number): UserInteraction[] {
    const rng = this.rng;
    const elements = ELEMENTS[kind];
    const n = last ? INTERACTIONS_BEFORE.pick(rng) + 1 : INTERACTION_COUNT.pick(rng);
    // Built from the latest back (the last one is the click that caused the event), then put in time order.
    const out: UserInteraction[] = [];
    let at = eventUs;
    for (let i = n - 1; i >= 0; i--) {
      const [type, element] = last && i === n - 1 ? last : elements[rng.int(elements.length)];
      at -= rng.range(300, 4_000) * 1000;
      out.push({
        interaction_type: type,
        element_id: element,
        timestamp: isoMicros(at),
        coordinates: xy(rng.u32(), s.viewport),
        interaction_sequence: s.interactions + i + 1,
      });
    }
    s.interactions += n;
    return out.reverse();
  }

  technical(s: Session, desc: Desc, extra?: Record<string, unknown>, rateLimitRemaining?: number): TechnicalContext {
    const rng = this.rng;
    const host = s.hosts[rng.int(s.hosts.length)];
    const slow = desc.type === 'transaction' ? 3 : desc.type === 'ml_inference' ? 1.5 : 1;
    const telemetry: NonNullable<TechnicalContext['performance_telemetry']> = desc.full
      ? {
          request_id: `req_${rng.hex(16)}`,
          trace_id: rng.hex(32),
          parent_span_id: rng.hex(16),
          processing_time_ms: Math.round(rng.logNormal(18 * slow, 0.6)),
          memory_usage_mb: rng.range(90, 420),
          cpu_utilization: round2(0.15 + rng.float() * 0.6),
          network_latency_ms: Math.round(rng.logNormal(12, 0.6)),
          database_query_time_ms: Math.round(rng.logNormal(4 * slow, 0.7)),
          cache_hit_ratio: round2(0.7 + rng.float() * 0.29),
        }
      : {
          request_id: `req_${rng.hex(16)}`,
          trace_id: rng.hex(32),
          processing_time_ms: Math.round(rng.logNormal(18, 0.6)),
          network_latency_ms: Math.round(3 + rng.exp(9)),
          cache_hit_ratio: round2(0.7 + rng.float() * 0.29),
        };
    if (extra) Object.assign(telemetry, extra);
    const limit = s.tenant.rateLimit;
    const tc: TechnicalContext = {
      infrastructure_metadata: host,
      performance_telemetry: telemetry,
      security_context: {
        api_key_hash: s.tenant.apiKeyHash,
        rate_limit_remaining: rateLimitRemaining ?? (s.scripted ? rng.range(0, Math.ceil(limit / 20)) : rng.range(Math.floor(limit / 4), limit)),
        security_flags: s.securityFlags,
      },
    };
    if (desc.lineage) tc.data_lineage = desc.lineage;
    return tc;
  }

  // ---- one method per subtype -------------------------------------------------------------

  pageView(s: Session, product?: Product): RtapEvent {
    const p = product ?? this.pickProduct(s.tenant);
    return this.build(s, 'page_view', { path: `/p/${p.product_id}`, tx: { products: [p] } });
  }

  /** A category listing page (a page view without a product). */
  categoryView(s: Session): RtapEvent {
    const h = this.pickProduct(s.tenant).product_hierarchy!;
    return this.build(s, 'page_view', { path: `/c/${slug(h.category_l1!)}/${slug(h.category_l2!)}`, pageKind: 'category' });
  }

  search(s: Session): RtapEvent {
    const p = this.pickProduct(s.tenant);
    return this.build(s, 'search', { path: `/search?q=${encodeURIComponent(p.product_hierarchy!.category_l3!.toLowerCase())}` });
  }

  recommendationClick(s: Session): RtapEvent {
    const ids = s.recommended;
    const p = ids ? (s.tenant.products.find((x) => x.product_id === ids[this.rng.int(ids.length)]) ?? this.pickProduct(s.tenant)) : this.pickProduct(s.tenant);
    return this.build(s, 'recommendation_click', { path: `/p/${p.product_id}?ref=reco`, tx: { products: [p] } });
  }

  login(s: Session): RtapEvent {
    return this.build(s, 'login', { path: '/account/login' });
  }

  accountCreated(s: Session): RtapEvent {
    return this.build(s, 'account_created', { path: '/account/signup' });
  }

  passwordChange(s: Session): RtapEvent {
    return this.build(s, 'password_change', { path: '/account/security' });
  }

  addressChange(s: Session, address: Address): RtapEvent {
    // The brief keeps addresses in the payment context's shipping context.
    return this.build(s, 'address_change', { path: '/account/addresses', tx: { cart_context: { cart_id: s.cartId, payment_context: { shipping_context: { shipping_address: address } } } } });
  }

  addToCart(s: Session, product: Product, quantity = 1): RtapEvent {
    s.cart.push({ product, quantity });
    return this.build(s, 'add_to_cart', { path: `/p/${product.product_id}#add`, tx: { products: [quantity === 1 ? product : { ...product, quantity }] } });
  }

  checkout(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'checkout', { path: '/checkout', tx: this.cartContext(s, o, 'checkout') });
  }

  paymentAttempt(s: Session, o: CartOptions = {}): RtapEvent {
    s.payments++;
    const tx = this.cartContext(s, o, 'payment');
    return this.build(s, 'payment_attempt', { path: '/checkout/pay', tx, ml: { model_scores: { fraud_detection: this.fraudDetection(s, tx) } } });
  }

  purchase(s: Session, o: CartOptions = {}): RtapEvent {
    const tx = this.cartContext(s, o, 'purchase');
    return this.build(s, 'purchase', { path: '/checkout/confirm', tx, ml: { model_scores: { fraud_detection: this.fraudDetection(s, tx) } } });
  }

  refund(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'refund', { tx: this.cartContext(s, o, 'refund') });
  }

  /** The risk engine scores the session's order (ml_inference). */
  fraudScore(s: Session): RtapEvent {
    const first = s.cart.length > 0 ? this.world.facts.get(s.cart[0].product) : undefined;
    const features: Record<string, number[]> = { user_features: s.user.features };
    if (first) features.product_features = first.features;
    features.contextual_features = this.contextFeatures(s);
    return this.build(s, 'fraud_score', { tx: { cart_context: { cart_id: s.cartId } }, ml: { feature_vectors: features, model_scores: { fraud_detection: this.fraudDetection(s) } } });
  }

  /** The recommender serves a carousel for a product page (ml_inference). */
  recommendation(s: Session, seed?: Product): RtapEvent {
    const rng = this.rng;
    const products = s.tenant.products;
    const n = rng.range(3, 5);
    const recs: { product_id: string; score: number; reason: string }[] = [];
    const ids: string[] = [];
    let score = 0.6 + rng.float() * 0.35;
    for (let i = 0; i < n; i++) {
      const p = products[rng.int(products.length)];
      if (ids.includes(p.product_id) || p === seed) continue;
      ids.push(p.product_id);
      recs.push({ product_id: p.product_id, score: round3(score), reason: REASONS[rng.int(REASONS.length)] });
      score *= 0.8 + rng.float() * 0.15;
    }
    s.recommended = ids.length > 0 ? ids : undefined;
    const features: Record<string, number[]> = { user_features: s.user.features };
    const f = seed && this.world.facts.get(seed);
    if (f) features.product_features = f.features;
    features.contextual_features = this.contextFeatures(s);
    return this.build(s, 'recommendation', { ml: { feature_vectors: features, model_scores: { recommendation: { model_version: 'rec_v2.1.0', recommendations: recs } } } });
  }

  /** The churn model scores a returning customer (ml_inference). */
  churnPrediction(s: Session): RtapEvent {
    const churn = s.user.profile?.segmentation?.predictive_scores?.churn_probability ?? 0.5;
    const p = round3(Math.min(1, Math.max(0, churn + (this.rng.float() - 0.5) * 0.1)));
    return this.build(s, 'churn_prediction', {
      ml: {
        feature_vectors: { user_features: s.user.features },
        model_scores: {
          churn_prediction: {
            model_version: 'churn_v1.5.2',
            churn_probability: p,
            days_to_churn: Math.max(1, Math.round((1 - p) * 365)),
            intervention_recommended: p > 0.7 ? 'retention_offer' : p > 0.4 ? 'reengagement_email' : 'none',
          },
        },
      },
    });
  }

  /** The API refused a request of the session: its key is over the rate limit (system_event). */
  rateLimitHit(s: Session, endpoint: string): RtapEvent {
    const rng = this.rng;
    return this.build(s, 'rate_limit_hit', {
      telemetry: { endpoint, http_method: 'GET', status_code: 429, retry_after_seconds: rng.range(1, 60), requests_last_minute: s.tenant.rateLimit + rng.range(1, s.tenant.rateLimit) },
      rateLimitRemaining: 0,
    });
  }

  pickProduct(tenant: Tenant): Product {
    return tenant.products[tenant.productPicker.sample(this.rng)];
  }

  contextFeatures(s: Session): number[] {
    const hour = (((this.clockUs / 3.6e9 + s.user.country.utcOffset) % 24) + 24) % 24;
    return [round2(Math.min(1, s.seq / 50)), round2(Math.min(1, s.cart.length / 5)), round2(hour / 24), s.viewport === VIEWPORTS.desktop ? 0 : 1, s.scripted ? 1 : 0];
  }

  /** Our fraud model's view of the session (model_scores.fraud_detection), from the signals it can see. */
  fraudDetection(s: Session, tx?: TransactionContext): NonNullable<NonNullable<MlContext['model_scores']>['fraud_detection']> {
    const rng = this.rng;
    const risks: string[] = [];
    const flags = s.securityFlags;
    if (flags.tor_exit_node) risks.push('tor_exit_node');
    if (flags.suspicious_user_agent || flags.known_bot) risks.push('bot_user_agent');
    if (s.attributes.device_fingerprint !== s.user.device) risks.push('new_device');
    const pm = tx?.cart_context?.payment_context?.payment_methods?.[0];
    if (pm?.risk_signals?.geo_mismatch) risks.push('geo_mismatch');
    if (pm?.risk_signals?.velocity_flag || s.payments > 3) risks.push('high_velocity');
    if (pm?.risk_signals?.first_time_payment) risks.push('first_time_payment');
    if (this.clockUs - s.user.registeredUs < DAY_US) risks.push('new_account');
    const base = s.label.fraud ? 0.3 + 0.6 * rng.float() ** 0.7 : 0.01 + 0.3 * rng.float() ** 4;
    const score = round3(Math.min(0.99, base + 0.05 * risks.length));
    const explanation = risks.slice(0, 3);
    if (explanation.length < 3 && !risks.includes('new_device')) explanation.push('known_device');
    if (explanation.length < 3 && !risks.includes('geo_mismatch')) explanation.push('normal_geo');
    if (explanation.length < 3 && !risks.includes('high_velocity')) explanation.push('low_velocity');
    return { model_version: 'fraud_v3.2.1', score, confidence: round2(0.8 + rng.float() * 0.19), explanation };
  }

  /** The order's shipping choice, drawn once per cart. */
  private orderChoice(s: Session): OrderChoice {
    if (s.order && s.order.cartId === s.cartId) return s.order;
    const rng = this.rng;
    const carriers = CARRIERS_BY_COUNTRY[s.user.country.code] ?? DEFAULT_CARRIERS;
    const tier = s.user.profile?.segmentation?.customer_tier;
    s.order = {
      cartId: s.cartId,
      serviceLevel: SERVICE_PICKER.pick(rng),
      carrier: carriers[rng.int(carriers.length)],
      redeemPoints: tier !== undefined && rng.chance(0.06) ? rng.range(2, 20) * 100 : 0,
    };
    return s.order;
  }

  /** Products, totals, payment and shipping of the session's cart at one step of the order. */
  cartContext(s: Session, o: CartOptions, stage: 'checkout' | 'payment' | 'purchase' | 'refund'): TransactionContext {
    const rng = this.rng;
    const tenant = s.tenant;
    const products: Product[] = [];
    const lines: PricedLine[] = [];
    for (const line of s.cart) {
      const facts = this.world.facts.get(line.product);
      const item = facts?.line ?? line.product;
      const p = o.priceOverride ? { ...item, pricing: { ...item.pricing!, sale_price: round2(item.pricing!.list_price! * o.priceOverride) } } : item;
      products.push(line.quantity === 1 ? p : { ...p, quantity: line.quantity });
      lines.push({ unitPrice: p.pricing!.sale_price!, quantity: line.quantity, taxCategory: facts?.taxCategory ?? 'standard' });
    }
    const priced = o.amount !== undefined ? [{ unitPrice: o.amount, quantity: 1, taxCategory: lines[0]?.taxCategory ?? 'standard' }] : lines;
    const order = this.orderChoice(s);
    const serviceLevel = o.serviceLevel ?? order.serviceLevel;
    const ships = tenant.vertical.ships;
    const profile = s.user.profile;
    const tier = profile?.segmentation?.customer_tier as CustomerTier | undefined;
    const value = priceCart({
      lines: priced,
      country: s.user.country.code,
      currency: tenant.currency,
      fx: tenant.fx,
      promo: o.promo,
      serviceLevel: ships ? serviceLevel : undefined,
      loyalty: tier ? { tier, redeemPoints: order.redeemPoints } : undefined,
    });
    const cart: CartContext = { cart_id: s.cartId, cart_value: value };
    const shipping =
      ships && (stage === 'checkout' || stage === 'purchase')
        ? {
            shipping_address: o.shipTo ?? s.user.shipping,
            shipping_method: {
              carrier: order.carrier,
              service_level: serviceLevel,
              estimated_delivery: isoMicros((Math.floor(this.clockUs / DAY_US) + rng.range(...SERVICE_DAYS[serviceLevel]) + (serviceLevel === 'same_day' ? 0 : 1)) * DAY_US),
              tracking_enabled: true,
              signature_required: value.subtotal! >= 500 * tenant.fx,
            },
          }
        : undefined;
    if (stage === 'checkout') {
      if (shipping) cart.payment_context = { shipping_context: shipping };
    } else {
      const pm = o.payment ?? s.user.payments[0];
      const geoMismatch = pm.billing_address !== undefined && pm.billing_address.country !== s.attributes.geolocation?.country;
      const payment: PaymentMethod = {
        method_type: pm.method_type,
        provider: pm.provider,
        tokenized_identifier: pm.tokenized_identifier,
        billing_address: pm.billing_address,
        risk_signals: {
          first_time_payment: o.firstTimePayment ?? false,
          velocity_flag: o.velocity ?? s.payments > 3,
          geo_mismatch: geoMismatch,
          fraud_score: round3(rng.float() * (s.label.fraud ? 0.9 : 0.35) + (geoMismatch ? 0.1 : 0)),
        },
        authorization_status: o.declined ? 'declined' : 'approved',
        amount: value.final_total,
      };
      if (o.declined) payment.decline_code = o.declineCode ?? 'do_not_honor';
      cart.payment_context = shipping ? { payment_methods: [payment], shipping_context: shipping } : { payment_methods: [payment] };
    }
    return { products, cart_context: cart };
  }
}

/** A point in the viewport from one random 32-bit draw (16 bits per axis). */
function xy(u: number, v: { w: number; h: number }): { x: number; y: number } {
  return { x: ((u & 0xffff) * v.w) >>> 16, y: ((u >>> 16) * v.h) >>> 16 };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-');
}

/** A normal shopper's session: browse, maybe cart, maybe checkout and buy, sometimes refund. */
export function* normalJourney(f: EventFactory, s: Session): Generator<RtapEvent, void, void> {
  const rng = f.rng;
  const u = rng.float();
  const intent = u < 0.55 ? 'browse' : u < 0.8 ? 'abandon' : 'buy';
  if (!s.user.guest && rng.chance(0.3)) {
    yield f.login(s);
    if (rng.chance(0.25)) yield f.churnPrediction(s);
  }
  const pages = rng.range(1, 6);
  for (let i = 0; i < pages; i++) {
    const r = rng.float();
    if (r < 0.18) yield f.search(s);
    else if (r < 0.3) yield f.categoryView(s);
    else if (r < 0.38 && s.recommended) yield f.recommendationClick(s);
    else {
      const p = f.pickProduct(s.tenant);
      yield f.pageView(s, p);
      if (rng.chance(0.15)) yield f.recommendation(s, p);
    }
  }
  if (!s.user.guest && rng.chance(0.01)) yield rng.chance(0.5) ? f.passwordChange(s) : f.addressChange(s, s.user.shipping);
  if (intent === 'browse') return;
  const items = rng.chance(0.7) ? 1 : 2;
  for (let i = 0; i < items; i++) yield f.addToCart(s, f.pickProduct(s.tenant), rng.chance(0.85) ? 1 : rng.range(2, 4));
  if (intent === 'abandon') {
    if (rng.chance(0.4)) yield f.checkout(s);
    return;
  }
  const promo = rng.chance(0.12) ? PROMOTIONS[rng.int(PROMOTIONS.length)] : undefined;
  yield f.checkout(s, { promo });
  yield f.fraudScore(s);
  let pm = s.user.payments[0];
  if (rng.chance(0.04)) {
    yield f.paymentAttempt(s, { payment: pm, promo, declined: true, declineCode: 'insufficient_funds' });
    if (s.user.payments.length < 2) return;
    pm = s.user.payments[1];
  }
  yield f.paymentAttempt(s, { payment: pm, promo });
  yield f.purchase(s, { payment: pm, promo });
  if (rng.chance(0.04)) yield f.refund(s, { payment: pm, promo });
}
