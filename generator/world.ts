// The simulated world: tenants with Zipf-skewed sizes, each selling a slice of one of the brief's
// four verticals in its own currency, and their users (created lazily, each from its own seeded
// stream so a user's attributes do not depend on the order users are first met). Everything here
// is built once and shared by reference between events (products, profiles, addresses, user
// agents): events only add per-event parts around it.
import type { Address, BusinessContext, Geolocation, PaymentMethod, Product, UserProfile } from '../core/schema/types';
import {
  BEHAVIORAL_SEGMENTS,
  BUSINESS_MODEL_WEIGHTS,
  BUSINESS_MODELS,
  COUNTRIES,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  METHOD_TYPES,
  METHOD_WEIGHTS,
  PAYMENT_PROVIDERS,
  REGION_OF_COUNTRY,
  REGIONS,
  STREETS,
  USER_AGENTS,
  USER_AGENT_WEIGHTS,
  VERTICALS,
  type City,
  type Condition,
  type Country,
  type MethodType,
  type Region,
  type TaxCategory,
  type UserAgent,
  type Vertical,
} from './catalog';
import { isoMicros, Rng, WeightedPicker, ZipfSampler } from './prng';

const FX: Record<string, number> = {
  USD: 1, CAD: 1.36, BRL: 5.1, MXN: 17.2, GBP: 0.79, EUR: 0.92, PLN: 4.0, RUB: 91, NGN: 1500, INR: 83.2, SGD: 1.34, JPY: 150, AUD: 1.52,
};
const CATALOG_SIZE = 400;
const DAY_US = 86_400_000_000;
const MODEL_WORDS = ['Air', 'Pro', 'Lite', 'Max', 'One', 'Ridge', 'Storm', 'Nova', 'Core', 'Flex', 'Prime', 'Edge'];
const WAREHOUSES = ['us_east_1', 'us_west_2', 'eu_central_1', 'eu_west_2', 'ap_south_1', 'ap_northeast_1', 'sa_east_1'];

export type MerchantTier = 'enterprise' | 'standard' | 'startup';

export interface Tenant {
  idx: number;
  id: string;
  /** Share of all traffic. */
  weight: number;
  tier: MerchantTier;
  vertical: Vertical;
  currency: string;
  /** Units of the tenant's currency per USD. */
  fx: number;
  markets: Country[];
  marketPicker: WeightedPicker<Country>;
  origin: string;
  meta: NonNullable<BusinessContext['tenant_metadata']>;
  apiKeyHash: string;
  /** Requests per minute the tenant's API key may make. */
  rateLimit: number;
  products: Product[];
  productPicker: ZipfSampler;
  userPool: number;
}

/** Parsed user agent in the brief's shape (shared, frozen objects). */
export interface UserAgentParsed {
  browser: UserAgent['browser'];
  os: UserAgent['os'];
  device: UserAgent['device'];
}

export interface User {
  id: string;
  anonymousId: string;
  email: string;
  tenant: Tenant;
  country: Country;
  city: City;
  geolocation: Geolocation;
  device: string;
  ua: UserAgent;
  uaParsed: UserAgentParsed;
  /** Guests have no profile. */
  profile: UserProfile | undefined;
  payments: PaymentMethod[];
  shipping: Address;
  registeredUs: number;
  guest: boolean;
  /** The cloud region serving the user's country. */
  region: Region;
  /** ML user features (five numbers in [0, 1]), shared by every event of the user. */
  features: number[];
}

export interface WorldOptions {
  seed: number;
  tenants: number;
  /** Users across all tenants (each tenant gets at least 20). */
  users: number;
  startUs: number;
}

export interface UserOptions {
  country?: Country;
  registeredUs?: number;
  guest?: boolean;
  emailPrefix?: string;
  unverified?: boolean;
}

/** The compact form of a product in carts and orders, and the catalog facts pricing needs. */
export interface ProductFacts {
  line: Product;
  taxCategory: TaxCategory;
  /** ML product features (five numbers in [0, 1]). */
  features: number[];
}

export class World {
  readonly tenants: Tenant[];
  readonly tenantPicker: ZipfSampler;
  private readonly catalogs = new Map<string, Product[]>();
  /** Per catalog product: its line-item form, tax category and ML features. */
  readonly facts = new Map<Product, ProductFacts>();
  private readonly users = new Map<number, User>();
  private readonly uaPicker = new WeightedPicker(USER_AGENTS, USER_AGENT_WEIGHTS);
  private readonly methodPicker = new WeightedPicker(METHOD_TYPES, METHOD_WEIGHTS);

  constructor(readonly opts: WorldOptions) {
    const rng = new Rng(opts.seed ^ 0x5eed7e4a);
    this.tenantPicker = new ZipfSampler(opts.tenants, 1.07);
    const countryPicker = new WeightedPicker(COUNTRIES, COUNTRIES.map((c) => c.weight));
    this.tenants = [];
    for (let i = 0; i < opts.tenants; i++) {
      const weight = this.tenantPicker.weights[i];
      const rank = i / opts.tenants;
      const tier: MerchantTier = rank < 0.02 ? 'enterprise' : rank < 0.3 ? 'standard' : 'startup';
      const home = countryPicker.pick(rng);
      const markets = [home];
      const extra = tier === 'enterprise' ? 5 : tier === 'standard' ? 2 : rng.chance(0.3) ? 1 : 0;
      for (let k = 0; k < extra; k++) {
        const c = countryPicker.pick(rng);
        if (!markets.includes(c)) markets.push(c);
      }
      const vertical = rng.pick(VERTICALS);
      const id = `t_${String(i).padStart(5, '0')}`;
      const catalog = this.catalog(VERTICALS.indexOf(vertical), home.currency);
      const size = tier === 'enterprise' ? 300 : tier === 'standard' ? 120 : 30;
      const offset = rng.int(CATALOG_SIZE);
      const products = Array.from({ length: size }, (_, k) => catalog[(offset + k) % CATALOG_SIZE]);
      const model = new WeightedPicker(BUSINESS_MODELS, BUSINESS_MODEL_WEIGHTS[vertical.name]).pick(rng);
      this.tenants.push({
        idx: i,
        id,
        weight,
        tier,
        vertical,
        currency: home.currency,
        fx: FX[home.currency] ?? 1,
        markets,
        marketPicker: new WeightedPicker(markets, markets.map((m, k) => (k === 0 ? m.weight * 4 : m.weight))),
        origin: `https://shop-${i}.${vertical.name}.example`,
        meta: Object.freeze({
          merchant_id: `m_${rng.hex(12)}`,
          merchant_tier: tier,
          industry_vertical: vertical.name,
          geographic_markets: markets.map((m) => m.code),
          business_model: model,
        }),
        apiKeyHash: `akh_${rng.hex(24)}`,
        rateLimit: tier === 'enterprise' ? 10_000 : tier === 'standard' ? 5_000 : 1_000,
        products,
        productPicker: new ZipfSampler(size, 0.9),
        userPool: Math.max(20, Math.round(opts.users * weight)),
      });
    }
  }

  /** A vertical's catalog in one currency (built on first use, shared by every tenant using it). */
  private catalog(verticalIdx: number, currency: string): Product[] {
    const key = `${verticalIdx}:${currency}`;
    const existing = this.catalogs.get(key);
    if (existing) return existing;
    const v = VERTICALS[verticalIdx];
    const rng = new Rng(this.opts.seed ^ (verticalIdx * 7919 + 1));
    const fx = FX[currency] ?? 1;
    const leaves: [string, string, string][] = [];
    for (const [l1, l2s] of Object.entries(v.tree)) for (const [l2, l3s] of Object.entries(l2s)) for (const l3 of l3s) leaves.push([l1, l2, l3]);
    const products: Product[] = [];
    for (let i = 0; i < CATALOG_SIZE; i++) {
      const [l1, l2, l3] = leaves[i % leaves.length];
      const brand = v.brands[rng.int(v.brands.length)];
      const listUsd = v.price[0] * Math.pow(v.price[1] / v.price[0], rng.float() ** 1.6);
      const list = round2(listUsd * fx);
      const onSale = rng.chance(0.3);
      const sale = onSale ? round2(list * (0.7 + rng.float() * 0.25)) : list;
      const cost = round2(list * (0.35 + rng.float() * 0.3));
      const taxCategory: TaxCategory = listUsd >= v.luxuryAbove ? 'luxury' : rng.chance(v.exempt) ? 'exempt' : 'standard';
      const u = rng.float();
      const condition: Condition = u < v.refurbished ? 'refurbished' : u < v.refurbished + v.used ? 'used' : 'new';
      const a = rng.float();
      const [availability, stock] =
        a < 0.02 ? (['discontinued', rng.range(0, 3)] as const) : a < 0.06 ? (['backorder', 0] as const) : a < 0.14 ? (['low_stock', rng.range(1, 9)] as const) : (['in_stock', rng.range(10, 2000)] as const);
      const attributes: Record<string, unknown> = {};
      if (v.colors.length > 0) attributes.color = rng.pick(v.colors);
      if (v.sizes.length > 0) attributes.size = rng.pick(v.sizes);
      attributes.condition = condition;
      if (v.name === 'electronics') attributes.warranty_months = condition === 'new' ? rng.pick([12, 24, 24, 36]) : condition === 'refurbished' ? 12 : 3;
      if (v.ships) attributes.weight_grams = Math.round(50 + listUsd * (5 + rng.float() * 20));
      if (rng.chance(0.4)) attributes.certifications = [rng.pick(v.certifications)];
      const views = Math.round(20 + 5000 * rng.float() ** 3);
      const conversion = round3(0.005 + rng.float() * 0.06);
      const returns = round3(v.name === 'fashion' ? 0.08 + rng.float() * 0.2 : v.name === 'services' ? rng.float() * 0.03 : 0.01 + rng.float() * 0.08);
      const rating = round1(3.2 + rng.float() * 1.7);
      const reviews = Math.round(views * (0.05 + rng.float() * 0.3));
      products.push({
        product_id: `sku_${v.name.slice(0, 2)}-${String(i).padStart(4, '0')}`,
        product_hierarchy: { category_l1: l1, category_l2: l2, category_l3: l3, brand, model: `${brand} ${rng.pick(MODEL_WORDS)} ${1 + rng.int(9)}` },
        pricing: {
          list_price: list,
          sale_price: sale,
          cost_basis: cost,
          margin_percentage: round3((sale - cost) / sale),
          tax_category: taxCategory,
          currency,
        },
        inventory: {
          sku_availability: availability,
          quantity_available: stock,
          warehouse_location: rng.pick(WAREHOUSES),
          supplier_id: `supplier_${rng.range(100, 999)}`,
        },
        attributes,
        performance_metrics: { view_count_24h: views, conversion_rate_7d: conversion, return_rate_30d: returns, review_average: rating, review_count: reviews },
      });
      const p = products[i];
      const line: Product = {
        product_id: p.product_id,
        product_hierarchy: { category_l1: l1, category_l2: l2, category_l3: l3, brand },
        pricing: { list_price: list, sale_price: sale, tax_category: taxCategory, currency },
        attributes: { condition },
      };
      const priceRank = Math.log(listUsd / v.price[0]) / Math.log(v.price[1] / v.price[0]);
      this.facts.set(p, { line, taxCategory, features: [round2(priceRank), round2((sale - cost) / sale), round2(conversion * 15), round2(returns * 3), round2(rating / 5)] });
    }
    this.catalogs.set(key, products);
    return products;
  }

  /** The `idx`-th user of a tenant; created on first use from its own seeded stream. */
  user(tenant: Tenant, idx: number): User {
    const key = tenant.idx * 1_048_576 + idx;
    let user = this.users.get(key);
    if (!user) {
      user = this.makeUser(tenant, `u_${tenant.idx}_${idx}`, new Rng(this.opts.seed ^ Math.imul(key + 1, 0x9e3779b1)), {});
      this.users.set(key, user);
    }
    return user;
  }

  /** A user outside the tenant's pool (fraud actors, synthetic identities). */
  makeUser(tenant: Tenant, id: string, rng: Rng, o: UserOptions): User {
    const country = o.country ?? tenant.marketPicker.pick(rng);
    const city = rng.pick(country.cities);
    const ua = this.uaPicker.pick(rng);
    const guest = o.guest ?? rng.chance(0.15);
    const first = rng.pick(FIRST_NAMES);
    const last = rng.pick(LAST_NAMES);
    const email = `${o.emailPrefix ?? `${first}.${last}${rng.int(1000)}`}@${rng.pick(EMAIL_DOMAINS)}`;
    const registeredUs = o.registeredUs ?? this.opts.startUs - Math.floor(rng.float() * 5 * 365) * DAY_US - rng.int(86_400) * 1_000_000;
    const ageDays = (this.opts.startUs - registeredUs) / DAY_US;
    const homeLine = `${rng.range(1, 400)} ${rng.pick(STREETS)}, ${city.city}`;
    const postal = String(rng.range(10000, 99999));
    const billing: Address = { address_line: homeLine, country: country.code, postal_code: postal, address_type: rng.chance(0.03) ? 'po_box' : 'residential' };
    const methods = rng.chance(0.3) ? 2 : 1;
    const payments: PaymentMethod[] = [];
    for (let k = 0; k < methods; k++) payments.push(paymentMethod(this.methodPicker.pick(rng), rng, billing));
    const churn = round3(rng.float() * rng.float() * 0.9 + 0.02);
    const ltv = round2((rng.float() ** 2) * 4000);
    const b2b = tenant.meta.business_model === 'b2b';
    const u = rng.float();
    const accountType = b2b && u < 0.6 ? 'enterprise' : ageDays < 30 && u < 0.5 ? 'trial' : u < 0.12 ? 'premium' : u < 0.14 ? 'enterprise' : 'standard';
    const v = rng.float();
    const verification = o.unverified ? 'unverified' : v < 0.75 ? 'verified' : v < 0.87 ? 'pending' : 'unverified';
    const f = rng.float();
    const flags = f < 0.05 ? ['high_velocity'] : f < 0.08 ? ['multiple_devices'] : f < 0.1 ? ['chargeback_history'] : [];
    const segments = [rng.pick(BEHAVIORAL_SEGMENTS)];
    if (ua.device.type === 'mobile' && !segments.includes('mobile_first')) segments.push('mobile_first');
    if (ltv > 2000 && !segments.includes('high_spender')) segments.push('high_spender');
    const profile: UserProfile | undefined = guest
      ? undefined
      : {
          account_type: accountType,
          registration_date: isoMicros(registeredUs),
          verification_status: verification,
          risk_profile: { fraud_score: round3(rng.float() * rng.float() * 0.3), credit_rating: rng.pick(['A', 'A', 'B', 'B', 'B', 'C', 'C', 'D']), behavioral_flags: flags },
          preferences: {
            communication_channels: rng.chance(0.5) ? ['email', 'push'] : rng.chance(0.2) ? ['email', 'sms'] : ['email'],
            privacy_settings: { tracking_consent: rng.chance(0.8), marketing_consent: rng.chance(0.5), analytics_consent: rng.chance(0.85) },
          },
          segmentation: {
            customer_tier: ltv > 2000 ? 'platinum' : ltv > 800 ? 'gold' : ltv > 200 ? 'silver' : 'bronze',
            lifecycle_stage: ageDays < 30 ? 'acquisition' : ageDays < 120 ? 'activation' : rng.chance(0.08) ? 'resurrection' : 'retention',
            behavioral_segments: segments,
            predictive_scores: { churn_probability: churn, lifetime_value: ltv, next_purchase_days: rng.range(1, 120) },
          },
        };
    const region = REGIONS[REGION_OF_COUNTRY[country.code] ?? 'us-east-1'];
    return {
      id,
      anonymousId: `anon_${rng.hex(20)}`,
      email,
      tenant,
      country,
      city,
      geolocation: {
        country: country.code,
        region: city.region,
        city: city.city,
        coordinates: { lat: round4(city.lat + (rng.float() - 0.5) * 0.2), lon: round4(city.lon + (rng.float() - 0.5) * 0.2) },
        accuracy_meters: rng.pick([10, 35, 50, 500, 5000]),
        ip_derived: rng.chance(0.7),
        timezone: country.timezone,
      },
      device: `fp_${rng.hex(24)}`,
      ua,
      uaParsed: { browser: ua.browser, os: ua.os, device: ua.device },
      profile,
      payments,
      shipping: rng.chance(0.85)
        ? { ...billing, address_type: billing.address_type === 'po_box' ? 'po_box' : 'residential', same_as_billing: true }
        : { address_line: `${rng.range(1, 400)} ${rng.pick(STREETS)}, ${city.city}`, country: country.code, postal_code: String(rng.range(10000, 99999)), address_type: 'commercial', same_as_billing: false },
      registeredUs,
      guest,
      region,
      features: [round2(churn), round2(Math.min(1, ltv / 4000)), round2(Math.min(1, ageDays / 1825)), guest ? 0 : 1, round2(rng.float())],
    };
  }
}

/** A payment method of the brief's value sets (crypto carries no provider: the brief names none). */
export function paymentMethod(type: MethodType, rng: Rng, billing: Address, provider?: string): PaymentMethod {
  const providers = PAYMENT_PROVIDERS[type];
  const p = provider ?? (providers.length > 0 ? rng.pick(providers) : undefined);
  const token = `pm_${type}_${rng.hex(16)}`;
  return p === undefined
    ? { method_type: type, tokenized_identifier: token, billing_address: billing }
    : { method_type: type, provider: p, tokenized_identifier: token, billing_address: billing };
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
