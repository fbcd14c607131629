// Labelled fraud scenarios. Each is a campaign: a generator of events from one or more attacker
// sessions, every event labelled { fraud: true, scenario, campaign, role }. The payload carries
// only the observable signals a detector could learn from (shared devices/cards/addresses,
// velocity, declines, geo jumps, odd user agents, tampered prices, rate-limit refusals, the risk
// model's scores…), never the label. Every value stays within the brief's value sets: fraud is
// ordinary, valid data at ingestion.
import type { Address, PaymentMethod, Product, RtapEvent } from '../core/schema/types';
import { BOT_USER_AGENTS, COUNTRIES, FORWARDER_ADDRESSES, NEW_CUSTOMER_PROMOTIONS, STREETS, type Country } from './catalog';
import { normalJourney, type EventFactory, type FraudScenario, type Label, type Session } from './events';
import { isoMicros } from './prng';
import { paymentMethod, type Tenant, type User, type UserOptions } from './world';

export type Campaign = Generator<RtapEvent, void, void>;

export interface CampaignContext {
  f: EventFactory;
  campaign: string;
  tenant: Tenant;
}

function label(ctx: CampaignContext, scenario: FraudScenario, role: string): Label {
  return { fraud: true, scenario, campaign: ctx.campaign, role };
}

function foreignCountry(ctx: CampaignContext, home: string): Country {
  const far = COUNTRIES.filter((c) => c.code !== home && Math.abs(c.utcOffset - (COUNTRIES.find((h) => h.code === home)?.utcOffset ?? 0)) >= 5);
  return ctx.f.rng.pick(far.length > 0 ? far : COUNTRIES.filter((c) => c.code !== home));
}

function geoOf(country: Country, ctx: CampaignContext): User['geolocation'] {
  const city = ctx.f.rng.pick(country.cities);
  return { country: country.code, region: city.region, city: city.city, coordinates: { lat: city.lat, lon: city.lon }, accuracy_meters: 5000, ip_derived: true, timezone: country.timezone };
}

/** A fresh account (or guest) controlled by an attacker. */
function actor(ctx: CampaignContext, tag: string, o: UserOptions = {}): User {
  const f = ctx.f;
  void tag;
  // Ids look like any other user's: nothing in the payload may give the label away.
  return f.world.makeUser(ctx.tenant, `u_${ctx.tenant.idx}_${ctx.tenant.userPool + f.rng.int(10_000_000)}`, f.rng, { registeredUs: f.clockUs - f.rng.range(60, 3_600) * 1_000_000, ...o });
}

/** A registered user of the tenant's pool (victims and returners have real accounts). */
function existingAccount(ctx: CampaignContext): User {
  for (let i = 0; i < 20; i++) {
    const user = ctx.f.world.user(ctx.tenant, ctx.f.rng.int(ctx.tenant.userPool));
    if (!user.guest) return user;
  }
  return actor(ctx, 'acct', { guest: false, registeredUs: ctx.f.clockUs - 400 * 86_400_000_000 });
}

/** The tenant's products, most expensive first. */
function byPriceDesc(tenant: Tenant): Product[] {
  return [...tenant.products].sort((a, b) => b.pricing!.sale_price! - a.pricing!.sale_price!);
}

function street(ctx: CampaignContext): string {
  return `${ctx.f.rng.range(1, 400)} ${ctx.f.rng.pick(STREETS)}`;
}

function* cardTesting(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const user = actor(ctx, 'ct', { guest: true });
  const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'card_testing', 'tester'), scripted: true, source: 'api' });
  const bin = `4${f.rng.range(10000, 99999)}`;
  const product = f.pickProduct(ctx.tenant);
  s.cart.push({ product, quantity: 1 });
  const attempts = f.rng.range(15, 40);
  for (let i = 0; i < attempts; i++) {
    // Many cards of one BIN, tiny amounts, mostly declined, in quick succession.
    const card: PaymentMethod = { method_type: 'credit_card', provider: 'visa', tokenized_identifier: `pm_credit_card_${bin}_${f.rng.hex(12)}`, billing_address: user.payments[0].billing_address };
    const declined = f.rng.chance(0.85);
    if (f.rng.chance(0.3)) yield f.fraudScore(s);
    yield f.paymentAttempt(s, {
      payment: card,
      amount: Math.round((0.5 + f.rng.float() * 4.5) * 100) / 100,
      declined,
      declineCode: f.rng.pick(['card_declined', 'incorrect_cvc', 'expired_card', 'do_not_honor']),
      firstTimePayment: true,
      velocity: i > 3,
    });
  }
}

function* accountTakeover(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const victim = existingAccount(ctx);
  const country = foreignCountry(ctx, victim.country.code);
  const lbl = label(ctx, 'account_takeover', 'attacker');
  const s = f.newSession(ctx.tenant, victim, { label: lbl, device: `fp_${f.rng.hex(24)}`, geolocation: geoOf(country, ctx), ua: f.rng.pick(BOT_USER_AGENTS.slice(2)) });
  for (let i = f.rng.range(1, 4); i > 0; i--) yield f.login(s);
  yield f.passwordChange(s);
  const drop: Address = { address_line: `${street(ctx)}, ${country.cities[0].city}`, country: country.code, postal_code: String(f.rng.range(10000, 99999)), address_type: 'residential', same_as_billing: false };
  yield f.addressChange(s, drop);
  const sorted = byPriceDesc(ctx.tenant);
  for (let i = 0; i < 2; i++) yield f.addToCart(s, sorted[i], f.rng.range(1, 3));
  yield f.checkout(s, { shipTo: drop, serviceLevel: 'express' });
  yield f.fraudScore(s);
  yield f.paymentAttempt(s, { shipTo: drop, serviceLevel: 'express' });
  yield f.purchase(s, { shipTo: drop, serviceLevel: 'express' });
}

function* coordinatedAttack(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const members = f.rng.range(4, 10);
  const device = `fp_${f.rng.hex(24)}`;
  const home = ctx.tenant.markets[0].code;
  const card = paymentMethod('credit_card', f.rng, { address_line: street(ctx), country: home, postal_code: String(f.rng.range(10000, 99999)), address_type: 'residential' }, 'mastercard');
  const shipTo: Address = { address_line: `${street(ctx)} Unit ${f.rng.range(1, 30)}`, country: home, postal_code: String(f.rng.range(10000, 99999)), address_type: 'residential', same_as_billing: false };
  const sessions: Session[] = [];
  for (let m = 0; m < members; m++) {
    const user = actor(ctx, `ring${m}`, { unverified: true });
    const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'coordinated_attack', 'ring_member'), device: f.rng.chance(0.7) ? device : undefined });
    s.cart.push({ product: f.pickProduct(ctx.tenant), quantity: 1 });
    sessions.push(s);
  }
  // Members act in lock-step, interleaved, as a script drives them.
  for (const step of ['view', 'cart', 'checkout', 'pay', 'buy'] as const) {
    for (const s of sessions) {
      const payment = f.rng.chance(0.6) ? card : s.user.payments[0];
      if (step === 'view') yield f.pageView(s, s.cart[0].product);
      else if (step === 'cart') yield f.build(s, 'add_to_cart', { path: `/p/${s.cart[0].product.product_id}#add`, tx: { products: [s.cart[0].product] } });
      else if (step === 'checkout') yield f.checkout(s, { shipTo });
      else if (step === 'pay') yield f.paymentAttempt(s, { payment, shipTo, firstTimePayment: true });
      else yield f.purchase(s, { payment, shipTo });
    }
  }
}

function* syntheticIdentity(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const home = ctx.tenant.markets[0];
  const user = actor(ctx, 'synth', { guest: false, unverified: true, emailPrefix: `${f.rng.hex(3)}${f.rng.range(1000, 9999)}x${f.rng.hex(4)}`, registeredUs: f.clockUs, country: home });
  // A thin file that looks clean: new, unverified, but a good credit rating and no flags.
  user.profile = {
    ...user.profile,
    account_type: 'trial',
    verification_status: 'unverified',
    registration_date: isoMicros(f.clockUs),
    risk_profile: { fraud_score: 0.05, credit_rating: 'A', behavioral_flags: [] },
  };
  const bnpl = paymentMethod('bnpl', f.rng, { address_line: street(ctx), country: foreignCountry(ctx, home.code).code, postal_code: '00000', address_type: 'po_box' }, 'klarna');
  const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'synthetic_identity', 'synthetic_account') });
  yield f.accountCreated(s);
  // Build trust with a few small orders, then bust out.
  for (let i = f.rng.range(1, 3); i > 0; i--) {
    f.newCart(s, [{ product: ctx.tenant.products[ctx.tenant.products.length - 1 - f.rng.int(5)], quantity: 1 }]);
    yield f.checkout(s);
    yield f.purchase(s, { payment: bnpl });
  }
  const sorted = byPriceDesc(ctx.tenant);
  f.newCart(s);
  for (let i = 0; i < 3; i++) yield f.addToCart(s, sorted[i], 2);
  yield f.checkout(s);
  yield f.fraudScore(s);
  yield f.paymentAttempt(s, { payment: bnpl, firstTimePayment: false });
  yield f.purchase(s, { payment: bnpl });
}

function* promoAbuse(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const promo = f.rng.pick(NEW_CUSTOMER_PROMOTIONS);
  const device = `fp_${f.rng.hex(24)}`;
  const base = street(ctx);
  const email = `${f.rng.hex(6)}`;
  const accounts = f.rng.range(4, 12);
  for (let a = 0; a < accounts; a++) {
    // New accounts, one email pattern, one device, one address with apartment variations: one welcome offer each.
    const user = actor(ctx, `promo${a}`, { guest: false, unverified: true, emailPrefix: `${email}+${a}` });
    const shipTo: Address = { address_line: `${base} Apt ${a + 1}`, country: ctx.tenant.markets[0].code, postal_code: '10001', address_type: 'residential', same_as_billing: false };
    const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'promo_abuse', 'abuser'), device: f.rng.chance(0.8) ? device : undefined });
    yield f.accountCreated(s);
    s.cart.push({ product: f.pickProduct(ctx.tenant), quantity: 1 });
    yield f.checkout(s, { promo, shipTo });
    yield f.purchase(s, { promo, shipTo, firstTimePayment: true });
  }
}

function* impossibleTravel(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const user = existingAccount(ctx);
  const lbl = label(ctx, 'impossible_travel', 'traveller');
  const home = f.newSession(ctx.tenant, user, { label: lbl });
  yield f.login(home);
  yield f.pageView(home);
  const away = f.newSession(ctx.tenant, user, { label: lbl, geolocation: geoOf(foreignCountry(ctx, user.country.code), ctx), device: `fp_${f.rng.hex(24)}` });
  yield f.login(away);
  yield f.pageView(away);
  if (f.rng.chance(0.6)) {
    away.cart.push({ product: f.pickProduct(ctx.tenant), quantity: 1 });
    yield f.checkout(away);
    yield f.purchase(away);
  }
  yield f.pageView(home);
}

function* bot(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const user = actor(ctx, 'bot', { guest: true });
  const ua = f.rng.pick(BOT_USER_AGENTS);
  const role = f.rng.pick(['scraper', 'credential_stuffer']);
  const s = f.newSession(ctx.tenant, user, {
    label: label(ctx, 'bot', role),
    ua,
    scripted: true,
    source: 'api',
    securityFlags: { suspicious_user_agent: ua.browser.name === 'HeadlessChrome' || ua.browser.name === 'python-requests', tor_exit_node: f.rng.chance(0.3), known_bot: f.rng.chance(0.2), geo_blocked: false },
  });
  const n = f.rng.range(25, 80);
  for (let i = 0; i < n; i++) {
    const r = f.rng.float();
    if (i > 10 && f.rng.chance(0.08)) yield f.rateLimitHit(s, role === 'scraper' ? '/api/v2/products' : '/api/v2/login');
    else yield r < 0.6 ? f.pageView(s, s.tenant.products[i % s.tenant.products.length]) : r < 0.9 ? f.search(s) : f.login(s);
  }
}

function* priceManipulation(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const user = actor(ctx, 'pm');
  const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'price_manipulation', 'tamperer') });
  const factor = f.rng.pick([0.01, 0.05, 0.1, 0.2]);
  const p = f.pickProduct(ctx.tenant);
  yield f.pageView(s, p);
  s.cart.push({ product: p, quantity: f.rng.range(1, 5) });
  const tampered = { ...p, pricing: { ...p.pricing!, sale_price: Math.round(p.pricing!.list_price! * factor * 100) / 100 } };
  yield f.build(s, 'add_to_cart', { path: `/p/${p.product_id}#add`, tx: { products: [tampered] } });
  yield f.checkout(s, { priceOverride: factor });
  yield f.paymentAttempt(s, { priceOverride: factor });
  yield f.purchase(s, { priceOverride: factor });
}

function* inventoryManipulation(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const scarce = ctx.tenant.products.filter((p) => p.inventory!.quantity_available! <= 9);
  const targets = scarce.length > 0 ? scarce : ctx.tenant.products.slice(0, 3);
  const accounts = f.rng.range(2, 5);
  for (let a = 0; a < accounts; a++) {
    const s = f.newSession(ctx.tenant, actor(ctx, `hoard${a}`), { label: label(ctx, 'inventory_manipulation', 'hoarder'), scripted: true });
    for (let i = f.rng.range(2, 4); i > 0; i--) yield f.addToCart(s, f.rng.pick(targets), f.rng.range(50, 500));
    if (f.rng.chance(0.3)) yield f.checkout(s);
  }
}

function* returnFraud(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const user = existingAccount(ctx);
  const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'return_fraud', 'serial_returner') });
  const sorted = byPriceDesc(ctx.tenant);
  for (let cycle = f.rng.range(2, 4); cycle > 0; cycle--) {
    f.newCart(s, [{ product: sorted[f.rng.int(Math.min(5, sorted.length))], quantity: 1 }]);
    yield f.checkout(s);
    yield f.purchase(s);
    yield f.refund(s);
  }
}

function* shippingFraud(ctx: CampaignContext): Campaign {
  const { f } = ctx;
  const fwd = f.rng.pick(FORWARDER_ADDRESSES);
  // Reshippers are businesses: a commercial address, shared across accounts, far from the billing address.
  const shipTo: Address = { address_line: fwd.line, country: fwd.country, postal_code: fwd.postal, address_type: 'commercial', same_as_billing: false };
  const accounts = f.rng.range(1, 3);
  const sorted = byPriceDesc(ctx.tenant);
  for (let a = 0; a < accounts; a++) {
    const user = actor(ctx, `ship${a}`);
    const s = f.newSession(ctx.tenant, user, { label: label(ctx, 'shipping_fraud', 'reshipper') });
    for (let i = 0; i < 2; i++) yield f.addToCart(s, sorted[f.rng.int(Math.min(8, sorted.length))], f.rng.range(1, 3));
    yield f.checkout(s, { shipTo, serviceLevel: 'overnight' });
    yield f.paymentAttempt(s, { shipTo, serviceLevel: 'overnight' });
    yield f.purchase(s, { shipTo, serviceLevel: 'overnight' });
  }
}

export const SCENARIOS: Record<FraudScenario, (ctx: CampaignContext) => Campaign> = {
  card_testing: cardTesting,
  account_takeover: accountTakeover,
  coordinated_attack: coordinatedAttack,
  synthetic_identity: syntheticIdentity,
  promo_abuse: promoAbuse,
  impossible_travel: impossibleTravel,
  bot,
  price_manipulation: priceManipulation,
  inventory_manipulation: inventoryManipulation,
  return_fraud: returnFraud,
  shipping_fraud: shippingFraud,
};

export { normalJourney };
