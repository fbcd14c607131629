// Builds 2.1 events for a session. Per-event work is kept lean: tenant metadata, user profiles,
// products, session attributes and touchpoints are built once and shared by reference; only the
// per-event parts (ids, times, page, cart totals, telemetry) are new objects. Content comes from
// the seeded stream and the simulated clock only.
import type { Address, CartContext, EventType, PaymentMethod, Product, ProcessingFlags, RtapEvent, SourceSystem } from '../core/schema/types';
import { CARRIERS, EXPERIMENTS, FEATURE_FLAGS, TOUCHPOINTS, type UserAgent } from './catalog';
import { isoMicros, type Rng } from './prng';
import { round2, type Tenant, type User, type World } from './world';

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

export const DEFECT_KINDS = ['missing_field', 'wrong_type', 'bad_timestamp', 'duplicate'] as const;
export type DefectKind = (typeof DEFECT_KINDS)[number];

export const NORMAL_LABEL: Label = Object.freeze({ fraud: false });

export interface CartLine {
  product: Product;
  quantity: number;
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
  attributes: NonNullable<RtapEvent['event_data']['user_context']['session_data']['session_attributes']>;
  touchpoints: NonNullable<NonNullable<NonNullable<RtapEvent['event_data']['business_context']>['interaction_context']>['touchpoint_journey']>;
  experiments: { active_experiments: string[]; feature_flags: string[] };
  securityFlags: { suspicious_user_agent: boolean; tor_exit_node: boolean; known_bot: boolean; geo_blocked: boolean };
  cart: CartLine[];
  cartId: string;
  label: Label;
  /** Bots and scripts send no mouse/keyboard interactions. */
  scripted: boolean;
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

const FLAGS: Record<EventType, ProcessingFlags> = {
  user_interaction: Object.freeze({ requires_enrichment: false, pii_contains: true, gdpr_subject: true, audit_required: false }),
  transaction: Object.freeze({ requires_enrichment: true, pii_contains: true, gdpr_subject: true, audit_required: true }),
  system_event: Object.freeze({ requires_enrichment: false, pii_contains: false, gdpr_subject: false, audit_required: true }),
  ml_inference: Object.freeze({ requires_enrichment: false, pii_contains: false, gdpr_subject: true, audit_required: true }),
};
const CLEAN_FLAGS = Object.freeze({ suspicious_user_agent: false, tor_exit_node: false, known_bot: false, geo_blocked: false });
const PAID = new Set(['paid_search', 'email', 'social', 'display', 'affiliate', 'push']);
const INTERACTIONS = [
  [],
  [{ type: 'scroll', target: 'main', offset_ms: 850 }],
  [{ type: 'scroll', target: 'main', offset_ms: 1200 }, { type: 'click', target: 'product-card', offset_ms: 3400 }],
  [{ type: 'hover', target: 'nav', offset_ms: 400 }, { type: 'click', target: 'add-to-cart', offset_ms: 5200 }],
];
const PAGE_TYPE: Record<string, string> = {
  page_view: 'product', search: 'search', add_to_cart: 'product', checkout: 'checkout', payment_attempt: 'payment', purchase: 'confirmation',
  refund: 'account_orders', login: 'login', password_change: 'account_security', address_change: 'account_addresses', recommendation_click: 'product',
  account_created: 'signup', fraud_score: 'internal',
};
const SUBTYPE_TYPE: Record<string, EventType> = {
  checkout: 'transaction', payment_attempt: 'transaction', purchase: 'transaction', refund: 'transaction', fraud_score: 'ml_inference',
};
const HOSTS = Array.from({ length: 12 }, (_, i) => Object.freeze({
  region: ['us-east-1', 'eu-central-1', 'ap-southeast-1'][i % 3],
  cluster: `edge-${(i % 4) + 1}`,
  pod: `ingest-gw-${i.toString(16).padStart(2, '0')}`,
  service_version: '2.14.3',
}));

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

  newSession(tenant: Tenant, user: User, o: SessionOptions = {}): Session {
    const rng = this.rng;
    const startUs = this.clockUs;
    const ua = o.ua ?? user.ua;
    const touchpoints = [];
    const n = rng.range(1, 2);
    for (let i = 0; i < n; i++) {
      const touchpoint = rng.pick(TOUCHPOINTS);
      touchpoints.push({
        touchpoint,
        campaign_id: PAID.has(touchpoint) ? `cmp_${tenant.idx}_${rng.int(40)}` : undefined,
        timestamp: isoMicros(startUs - (n - i) * rng.range(60, 86_400) * 1_000_000),
        attribution_weight: Math.round((1 / n) * 1000) / 1000,
      });
    }
    const id = `s_${rng.hex(20)}`;
    return {
      tenant,
      user,
      id,
      startIso: isoMicros(startUs),
      startUs,
      seq: 0,
      lastEventId: null,
      lastUrl: touchpoints[0].touchpoint === 'direct' ? undefined : `https://www.${touchpoints[0].touchpoint.replace('_', '-')}.example/`,
      source: o.source ?? (ua.device === 'mobile' ? (rng.chance(0.6) ? 'mobile_app' : 'web_app') : 'web_app'),
      key: `${tenant.id}:${user.guest ? user.anonymousId : user.id}`,
      attributes: {
        device_fingerprint: o.device ?? user.device,
        geolocation: o.geolocation ?? user.geolocation,
        user_agent_parsed: ua === user.ua ? user.uaParsed : { browser: ua.browser, os: ua.os, device: ua.device },
      },
      touchpoints,
      experiments: {
        active_experiments: [EXPERIMENTS[rng.int(EXPERIMENTS.length)]],
        feature_flags: [FEATURE_FLAGS[rng.int(FEATURE_FLAGS.length)], FEATURE_FLAGS[rng.int(FEATURE_FLAGS.length)]],
      },
      securityFlags: o.securityFlags ?? CLEAN_FLAGS,
      cart: [],
      cartId: `cart_${rng.hex(16)}`,
      label: o.label ?? NORMAL_LABEL,
      scripted: o.scripted ?? false,
    };
  }

  /** The common envelope of every event. `tx` is the transaction context, if any. */
  build(s: Session, subtype: string, path: string, tx?: NonNullable<RtapEvent['event_data']['business_context']>['transaction_context'], email = false): RtapEvent {
    const rng = this.rng;
    const type = SUBTYPE_TYPE[subtype] ?? 'user_interaction';
    let eventUs = this.clockUs - rng.logNormal(90_000, 0.9);
    if (this.clock.lateRate > 0 && rng.float() < this.clock.lateRate) eventUs -= rng.range(60, 7_200) * 1_000_000;
    const eventId = rng.uuid();
    const url = s.tenant.origin + path;
    const user = s.user;
    const seq = s.seq++;
    const fraudBias = s.label.fraud ? 0.25 : 0;
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
        source_system: s.source,
        event_version: '2.1.0',
        processing_flags: FLAGS[type],
      },
      event_data: {
        event_type: type,
        event_subtype: subtype,
        user_context: {
          user_id: user.guest ? undefined : user.id,
          anonymous_id: user.anonymousId,
          email: email ? user.email : undefined,
          session_data: { session_id: s.id, session_start: s.startIso, session_sequence: seq, session_attributes: s.attributes },
          // Order steps are server-side calls: they carry the cart, not the profile.
          user_profile: type === 'transaction' ? undefined : user.profile,
        },
        business_context: {
          tenant_metadata: s.tenant.meta,
          transaction_context: tx,
          interaction_context: {
            // Browsing events carry the journey; order steps join it through the session.
            touchpoint_journey: type === 'transaction' ? undefined : s.touchpoints,
            page_context: {
              page_type: PAGE_TYPE[subtype] ?? 'other',
              page_url: url,
              referrer_url: s.lastUrl,
              page_load_metrics: type === 'transaction' ? undefined : { ttfb_ms: rng.range(20, 400), dom_content_loaded_ms: rng.range(300, 2500), largest_contentful_paint_ms: rng.range(600, 4000) },
              user_interactions: s.scripted || type === 'transaction' ? undefined : INTERACTIONS[rng.int(INTERACTIONS.length)],
            },
            experiment_context: s.experiments,
          },
        },
        technical_context: {
          infrastructure_metadata: HOSTS[rng.int(HOSTS.length)],
          performance_telemetry: { request_id: `req_${rng.hex(16)}`, trace_id: rng.hex(32), processing_time_ms: rng.range(1, 120) },
          security_context: { api_key_hash: s.tenant.apiKeyHash, rate_limit_remaining: rng.range(0, 5000), security_flags: s.securityFlags },
        },
      },
      ml_context: {
        feature_vectors: { session: [seq, s.cart.length, Math.round((this.clockUs - s.startUs) / 1e6), s.scripted ? 1 : 0] },
        model_scores: {
          fraud_detection: Math.round(Math.min(1, rng.float() * rng.float() * 0.6 + fraudBias * rng.float()) * 1000) / 1000,
          recommendation: Math.round(rng.float() * 1000) / 1000,
          churn_prediction: user.profile.segmentation?.predictive_scores?.churn_probability ?? 0,
        },
      },
    };
    s.lastEventId = eventId;
    s.lastUrl = url;
    this.lastSession = s;
    return event;
  }

  // ---- one method per subtype -------------------------------------------------------------

  pageView(s: Session, product?: Product): RtapEvent {
    const p = product ?? this.pickProduct(s.tenant);
    return this.build(s, 'page_view', `/p/${p.product_id}`, { products: [p] });
  }

  search(s: Session): RtapEvent {
    const p = this.pickProduct(s.tenant);
    return this.build(s, 'search', `/search?q=${encodeURIComponent(p.product_hierarchy!.category_l3!.toLowerCase())}`);
  }

  recommendationClick(s: Session): RtapEvent {
    const p = this.pickProduct(s.tenant);
    return this.build(s, 'recommendation_click', `/p/${p.product_id}?ref=reco`, { products: [p] });
  }

  login(s: Session): RtapEvent {
    return this.build(s, 'login', '/account/login', undefined, true);
  }

  accountCreated(s: Session): RtapEvent {
    return this.build(s, 'account_created', '/account/signup', undefined, true);
  }

  passwordChange(s: Session): RtapEvent {
    return this.build(s, 'password_change', '/account/security', undefined, true);
  }

  addressChange(s: Session, address: Address): RtapEvent {
    return this.build(s, 'address_change', '/account/addresses', { cart_context: { cart_id: s.cartId, shipping_context: { shipping_address: address } } }, true);
  }

  addToCart(s: Session, product: Product, quantity = 1): RtapEvent {
    s.cart.push({ product, quantity });
    return this.build(s, 'add_to_cart', `/p/${product.product_id}#add`, { products: [quantity === 1 ? product : { ...product, quantity }] });
  }

  checkout(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'checkout', '/checkout', this.cartContext(s, o, false), true);
  }

  paymentAttempt(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'payment_attempt', '/checkout/pay', this.cartContext(s, o, true), true);
  }

  purchase(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'purchase', '/checkout/confirmation', this.cartContext(s, { ...o, withShipping: true }, true), true);
  }

  refund(s: Session, o: CartOptions = {}): RtapEvent {
    return this.build(s, 'refund', '/account/orders/refund', this.cartContext(s, o, true), true);
  }

  fraudScore(s: Session): RtapEvent {
    return this.build(s, 'fraud_score', '/internal/risk');
  }

  pickProduct(tenant: Tenant): Product {
    return tenant.products[tenant.productPicker.sample(this.rng)];
  }

  /** Cart totals, payment and shipping for the session's cart. */
  cartContext(s: Session, o: CartOptions, withPayment: boolean): { products: Product[]; cart_context: CartContext } {
    const rng = this.rng;
    const products: Product[] = [];
    let subtotal = 0;
    for (const line of s.cart) {
      const item = this.world.lineOf.get(line.product) ?? line.product;
      const p = o.priceOverride ? { ...item, pricing: { ...item.pricing!, sale_price: round2(item.pricing!.list_price * o.priceOverride) } } : item;
      products.push(line.quantity === 1 ? p : { ...p, quantity: line.quantity });
      subtotal += p.pricing!.sale_price * line.quantity;
    }
    if (o.amount !== undefined) subtotal = o.amount;
    subtotal = round2(subtotal);
    const discount = o.promo ? round2(subtotal * 0.15) : 0;
    const shipping = o.shippingCost ?? (subtotal > 50 ? 0 : 4.99);
    const tax = round2((subtotal - discount) * 0.08);
    const total = round2(subtotal - discount + shipping + tax);
    const carrier = CARRIERS[rng.int(CARRIERS.length)];
    const cart: CartContext = {
      cart_id: s.cartId,
      cart_value: {
        subtotal,
        tax_breakdown: [{ tax_type: 'sales_tax', amount: tax }],
        shipping_costs: shipping,
        discounts_applied: o.promo ? [{ code: o.promo, amount: discount, type: 'percentage' }] : [],
        loyalty_benefits: 0,
        final_total: total,
        currency: s.tenant.currency,
      },
      shipping_context: withPayment && !o.withShipping
        ? undefined
        : {
            shipping_address: o.shipTo ?? s.user.shipping,
            shipping_method: { carrier: carrier.carrier, service_level: o.serviceLevel ?? carrier.levels[rng.int(2)], estimated_days: rng.range(1, 7) },
          },
    };
    if (withPayment) {
      const pm = o.payment ?? s.user.payments[0];
      const payment: PaymentMethod = {
        method_type: pm.method_type,
        provider: pm.provider,
        tokenized_identifier: pm.tokenized_identifier,
        billing_address: pm.billing_address,
        authorization_status: o.declined ? 'declined' : 'approved',
        amount: total,
        risk_signals: {
          first_time_payment: o.firstTimePayment ?? false,
          velocity_flag: o.velocity ?? false,
          geo_mismatch: pm.billing_address !== undefined && pm.billing_address.country !== s.attributes.geolocation?.country,
          fraud_score: Math.round(rng.float() * (s.label.fraud ? 0.9 : 0.4) * 1000) / 1000,
        },
      };
      if (o.declined) payment.decline_code = o.declineCode ?? 'do_not_honor';
      cart.payment_context = { payment_methods: [payment] };
    }
    return { products, cart_context: cart };
  }
}

export interface CartOptions {
  payment?: PaymentMethod;
  declined?: boolean;
  declineCode?: string;
  promo?: string;
  shipTo?: Address;
  serviceLevel?: string;
  shippingCost?: number;
  /** Charge this subtotal instead of the cart's (card testing). */
  amount?: number;
  /** Multiply list prices by this (client-side price tampering). */
  priceOverride?: number;
  firstTimePayment?: boolean;
  velocity?: boolean;
  /** Payment events carry the shipping context only on the purchase. */
  withShipping?: boolean;
}

/** A normal shopper's session: browse, maybe cart, maybe checkout and buy, sometimes refund. */
export function* normalJourney(f: EventFactory, s: Session): Generator<RtapEvent, void, void> {
  const rng = f.rng;
  const u = rng.float();
  const intent = u < 0.55 ? 'browse' : u < 0.8 ? 'abandon' : 'buy';
  if (!s.user.guest && rng.chance(0.3)) yield f.login(s);
  const pages = rng.range(1, 6);
  for (let i = 0; i < pages; i++) {
    const r = rng.float();
    yield r < 0.2 ? f.search(s) : r < 0.28 ? f.recommendationClick(s) : f.pageView(s);
  }
  if (!s.user.guest && rng.chance(0.01)) yield rng.chance(0.5) ? f.passwordChange(s) : f.addressChange(s, s.user.shipping);
  if (intent === 'browse') return;
  const items = rng.chance(0.7) ? 1 : 2;
  for (let i = 0; i < items; i++) yield f.addToCart(s, f.pickProduct(s.tenant), rng.chance(0.85) ? 1 : rng.range(2, 4));
  if (intent === 'abandon') {
    if (rng.chance(0.4)) yield f.checkout(s);
    return;
  }
  const promo = rng.chance(0.1) ? 'SPRING15' : undefined;
  yield f.checkout(s, { promo });
  let pm = s.user.payments[0];
  if (rng.chance(0.04)) {
    yield f.paymentAttempt(s, { payment: pm, promo, declined: true, declineCode: 'insufficient_funds' });
    if (s.user.payments.length < 2) return;
    pm = s.user.payments[1];
  }
  yield f.paymentAttempt(s, { payment: pm, promo });
  if (rng.chance(0.05)) yield f.fraudScore(s);
  yield f.purchase(s, { payment: pm, promo });
  if (rng.chance(0.04)) yield f.refund(s, { payment: pm, promo });
}
