// The simulated world: tenants with Zipf-skewed sizes, each selling a slice of a vertical's
// catalog in its own currency, and their users (created lazily, each from its own seeded stream
// so a user's attributes do not depend on the order users are first met).
import type { Address, Geolocation, PaymentMethod, Product, UserProfile } from '../core/schema/types';
import {
  BUSINESS_MODELS,
  COUNTRIES,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  LAST_NAMES,
  MERCHANT_TIERS,
  METHOD_TYPES,
  METHOD_WEIGHTS,
  PAYMENT_PROVIDERS,
  STREETS,
  USER_AGENTS,
  USER_AGENT_WEIGHTS,
  VERTICALS,
  type City,
  type Country,
  type UserAgent,
  type Vertical,
} from './catalog';
import { isoMicros, Rng, WeightedPicker, ZipfSampler } from './prng';

const FX: Record<string, number> = {
  USD: 1, CAD: 1.36, BRL: 5.1, MXN: 17.2, GBP: 0.79, EUR: 0.92, PLN: 4.0, RUB: 91, NGN: 1500, INR: 83.2, SGD: 1.34, JPY: 150, AUD: 1.52,
};
const CATALOG_SIZE = 400;
const DAY_US = 86_400_000_000;

export interface Tenant {
  idx: number;
  id: string;
  /** Share of all traffic. */
  weight: number;
  tier: (typeof MERCHANT_TIERS)[number];
  vertical: Vertical;
  currency: string;
  markets: Country[];
  marketPicker: WeightedPicker<Country>;
  origin: string;
  meta: { merchant_id: string; merchant_tier: string; industry_vertical: string; geographic_markets: string[]; business_model: string };
  apiKeyHash: string;
  products: Product[];
  productPicker: ZipfSampler;
  userPool: number;
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
  uaParsed: { browser: string; os: string; device: string };
  profile: UserProfile;
  payments: PaymentMethod[];
  shipping: Address;
  registeredUs: number;
  guest: boolean;
}

export interface WorldOptions {
  seed: number;
  tenants: number;
  /** Users across all tenants (each tenant gets at least 20). */
  users: number;
  startUs: number;
}

export class World {
  readonly tenants: Tenant[];
  readonly tenantPicker: ZipfSampler;
  private readonly catalogs = new Map<string, Product[]>();
  /** The compact line-item form of each catalog product, used in carts and orders. */
  readonly lineOf = new Map<Product, Product>();
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
      const tier = rank < 0.01 ? 'enterprise' : rank < 0.1 ? 'mid_market' : rank < 0.5 ? 'smb' : 'startup';
      const home = countryPicker.pick(rng);
      const markets = [home];
      const extra = tier === 'enterprise' ? 5 : tier === 'mid_market' ? 2 : rng.chance(0.3) ? 1 : 0;
      for (let k = 0; k < extra; k++) {
        const c = countryPicker.pick(rng);
        if (!markets.includes(c)) markets.push(c);
      }
      const vertical = rng.pick(VERTICALS);
      const id = `t_${String(i).padStart(5, '0')}`;
      const catalog = this.catalog(VERTICALS.indexOf(vertical), home.currency);
      const size = tier === 'enterprise' ? 300 : tier === 'mid_market' ? 150 : tier === 'smb' ? 60 : 25;
      const offset = rng.int(CATALOG_SIZE);
      const products = Array.from({ length: size }, (_, k) => catalog[(offset + k) % CATALOG_SIZE]);
      this.tenants.push({
        idx: i,
        id,
        weight,
        tier,
        vertical,
        currency: home.currency,
        markets,
        marketPicker: new WeightedPicker(markets, markets.map((m, k) => (k === 0 ? m.weight * 4 : m.weight))),
        origin: `https://shop-${i}.${vertical.name.replace('_', '-')}.example`,
        meta: {
          merchant_id: `m_${rng.hex(12)}`,
          merchant_tier: tier,
          industry_vertical: vertical.name,
          geographic_markets: markets.map((m) => m.code),
          business_model: rng.pick(BUSINESS_MODELS),
        },
        apiKeyHash: `akh_${rng.hex(24)}`,
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
      const stock = rng.chance(0.08) ? rng.range(0, 5) : rng.range(10, 2000);
      products.push({
        product_id: `p_${v.name.slice(0, 3)}_${String(i).padStart(5, '0')}`,
        product_hierarchy: { category_l1: l1, category_l2: l2, category_l3: l3, brand, model: `${brand} ${l3} ${100 + rng.int(900)}` },
        pricing: {
          list_price: list,
          sale_price: sale,
          cost_basis: cost,
          margin_percentage: round2(((sale - cost) / sale) * 100),
          tax_category: v.taxCategory,
          currency,
        },
        inventory: {
          sku_availability: stock === 0 ? 'out_of_stock' : stock <= 5 ? 'low_stock' : 'in_stock',
          quantity_available: stock,
          warehouse_location: rng.pick(['wh-us-east-1', 'wh-us-west-2', 'wh-eu-central-1', 'wh-ap-south-1', 'wh-sa-east-1']),
          supplier_id: `sup_${rng.hex(6)}`,
        },
        attributes: { color: rng.pick(['black', 'white', 'blue', 'red', 'green', 'grey']), rating: Math.round((3 + rng.float() * 2) * 10) / 10 },
      });
      const p = products[i];
      this.lineOf.set(p, {
        product_id: p.product_id,
        product_hierarchy: { category_l1: l1, category_l2: l2, brand },
        pricing: { list_price: list, sale_price: sale, tax_category: v.taxCategory, currency },
      });
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
  makeUser(tenant: Tenant, id: string, rng: Rng, o: { country?: Country; registeredUs?: number; guest?: boolean; emailPrefix?: string; unverified?: boolean }): User {
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
    const billing: Address = { address_line: homeLine, country: country.code, postal_code: postal, address_type: 'residential' };
    const methods = rng.chance(0.3) ? 2 : 1;
    const payments: PaymentMethod[] = [];
    for (let k = 0; k < methods; k++) {
      const type = this.methodPicker.pick(rng);
      payments.push({ method_type: type, provider: rng.pick(PAYMENT_PROVIDERS[type]), tokenized_identifier: `pm_${type}_${rng.hex(16)}`, billing_address: billing });
    }
    const churn = Math.round(rng.float() * 1000) / 1000;
    const verification = o.unverified ? 'unverified' : guest ? 'unverified' : rng.pick(['email_verified', 'email_verified', 'phone_verified', 'kyc_verified'] as const);
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
        accuracy_meters: rng.pick([10, 50, 500, 5000]),
        ip_derived: rng.chance(0.7),
        timezone: country.timezone,
      },
      device: `fp_${rng.hex(24)}`,
      ua,
      uaParsed: { browser: ua.browser, os: ua.os, device: ua.device },
      profile: {
        account_type: guest ? 'guest' : rng.chance(0.05) ? 'business' : 'registered',
        registration_date: isoMicros(registeredUs),
        verification_status: verification,
        risk_profile: { fraud_score: Math.round(rng.float() * rng.float() * 1000) / 1000, credit_rating: rng.pick(['A', 'A', 'B', 'B', 'C']), behavioral_flags: [] },
        preferences: {
          communication_channels: rng.chance(0.5) ? ['email', 'push'] : ['email'],
          privacy_settings: { tracking_consent: rng.chance(0.8), marketing_consent: rng.chance(0.5), analytics_consent: rng.chance(0.85) },
        },
        segmentation: {
          customer_tier: ageDays > 700 ? 'gold' : ageDays > 180 ? 'silver' : 'bronze',
          lifecycle_stage: ageDays < 30 ? 'new' : churn > 0.7 ? 'at_risk' : 'active',
          behavioral_segments: rng.chance(0.5) ? ['deal_seeker', 'mobile_first'] : ['brand_loyal'],
          predictive_scores: { churn_probability: churn, lifetime_value: round2(rng.float() * 3000), next_purchase_days: rng.range(1, 120) },
        },
      },
      payments,
      shipping: rng.chance(0.85) ? { ...billing, same_as_billing: true } : { address_line: `${rng.range(1, 400)} ${rng.pick(STREETS)}, ${city.city}`, country: country.code, postal_code: String(rng.range(10000, 99999)), address_type: 'commercial', same_as_billing: false },
      registeredUs,
      guest,
    };
  }
}

export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
