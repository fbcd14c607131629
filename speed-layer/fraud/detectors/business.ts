// Business-logic detectors: promotion farming, tampered prices, stock hoarding, reshipping and
// serial returns.
import { defineDetector, fmt, HOUR_US, ramp } from '../detector';
import { NEW_ACCOUNT_US } from './behavioural';
import { ORDER_SUBTYPES } from './financial';

export const promoAbuse = defineDetector({
  id: 'promo_abuse',
  family: 'business_logic',
  description: 'one promotion used by several accounts from one device or to one postal code in 24 h, worse on brand-new accounts',
  reads: ['event.discounts', 'shared.promo_device_accounts', 'shared.promo_postal_accounts', 'session.profile'],
  defaults: { floor: 1, full: 4, newAccount: 0.25, newOnly: 0.15 },
  score(e, f, _b, p) {
    if (e.discountIds.length === 0) return null;
    const c = f.context;
    const n = Math.max(c.promoDeviceAccounts, c.promoPostalAccounts);
    const pr = e.profile ?? c.session?.profile ?? null;
    const ageUs = pr?.registrationUs == null ? null : e.timeUs - pr.registrationUs;
    const young = ageUs !== null && ageUs < NEW_ACCOUNT_US;
    const shared = ramp(n, p.floor, p.full);
    const score = shared > 0 ? Math.min(1, shared + (young ? p.newAccount : 0)) : young ? p.newOnly : 0;
    if (score === 0) return null;
    return {
      score,
      evidence: { promotion: e.discountIds.join(','), accounts_same_device: c.promoDeviceAccounts, accounts_same_postcode: c.promoPostalAccounts, new_account: young },
      explanation: `promotion ${e.discountIds.join(', ')} used by ${c.promoDeviceAccounts} accounts from this device and ${c.promoPostalAccounts} shipping to this postcode in 24 h${young && ageUs !== null ? `; account ${fmt(Math.max(0, Math.round(ageUs / HOUR_US * 10) / 10))} h old` : ''}`,
    };
  },
});

export const priceManipulation = defineDetector({
  id: 'price_manipulation',
  family: 'business_logic',
  description: 'a product priced far below its list price (or below its cost) in the cart: a tampered client-side price',
  reads: ['event.products.pricing'],
  defaults: { ratio: 0.5, fullRatio: 0.2, belowCost: 0.6 },
  score(e, _f, _b, p) {
    let worst: { id: string; ratio: number; sale: number; list: number; cost: number | null } | undefined;
    for (const x of e.products) {
      if (x.listPrice === null || x.salePrice === null || !(x.listPrice > 0)) continue;
      const ratio = x.salePrice / x.listPrice;
      if (!worst || ratio < worst.ratio) worst = { id: x.id, ratio, sale: x.salePrice, list: x.listPrice, cost: x.costBasis };
    }
    if (!worst) return null;
    const underCost = worst.cost !== null && worst.sale < worst.cost ? p.belowCost : 0;
    const score = Math.max(ramp(p.ratio - worst.ratio, 0, p.ratio - p.fullRatio), underCost);
    if (score === 0) return null;
    return {
      score,
      evidence: { product: worst.id, sale_price: worst.sale, list_price: worst.list, ratio: Math.round(worst.ratio * 1000) / 1000, cost_basis: worst.cost },
      explanation: `${worst.id} at ${fmt(worst.sale)}, ${fmt(Math.round(worst.ratio * 1000) / 10)}% of its list price ${fmt(worst.list)}${worst.cost !== null && worst.sale < worst.cost ? ` and below its cost ${fmt(worst.cost)}` : ''} (store sales go down to 70%)`,
    };
  },
});

export const inventoryManipulation = defineDetector({
  id: 'inventory_manipulation',
  family: 'business_logic',
  description: 'carts holding far more units than people buy, or than the stock left (hoarding scarce items)',
  reads: ['event.products.quantity', 'event.products.inventory'],
  defaults: { qty: 8, fullQty: 40, minQtyForStock: 5, stockShare: 0.5, fullStockShare: 1.5 },
  score(e, _f, _b, p) {
    if (e.subtype !== 'add_to_cart' && e.subtype !== 'checkout') return null;
    let best: { id: string; qty: number; available: number | null; score: number } | undefined;
    for (const x of e.products) {
      const byQty = ramp(x.quantity, p.qty, p.fullQty);
      const byStock = x.available !== null && x.available > 0 && x.quantity >= p.minQtyForStock ? ramp(x.quantity / x.available, p.stockShare, p.fullStockShare) : 0;
      const s = Math.max(byQty, byStock);
      if (s > 0 && (!best || s > best.score)) best = { id: x.id, qty: x.quantity, available: x.available, score: s };
    }
    if (!best) return null;
    return {
      score: best.score,
      evidence: { product: best.id, quantity: best.qty, available: best.available },
      explanation: `${fmt(best.qty)} units of ${best.id} in the cart${best.available !== null ? ` with ${fmt(best.available)} in stock` : ''} (people add 1–4)`,
    };
  },
});

export const shippingFraud = defineDetector({
  id: 'shipping_fraud',
  family: 'business_logic',
  description: 'orders to a commercial address other than the billing one, shared by several accounts, sent fast, abroad: reshipping',
  reads: ['event.shipping', 'event.payment.billing_country', 'shared.address_accounts'],
  defaults: { commercial: 0.2, fast: 0.15, abroad: 0.2, shared: 0.6, sharedFloor: 1, sharedFull: 4 },
  score(e, f, _b, p) {
    // payment attempts carry no shipping: the session's order does
    const sh = e.shipping ?? f.context.session?.shipping ?? null;
    if (!sh || e.subtype === null || !ORDER_SUBTYPES.has(e.subtype)) return null;
    const parts: [number, string][] = [];
    if (sh.addressType === 'commercial' && sh.sameAsBilling === false) parts.push([p.commercial, 'commercial address other than the billing one']);
    if (sh.serviceLevel === 'overnight' || sh.serviceLevel === 'same_day') parts.push([p.fast, `${sh.serviceLevel} delivery`]);
    if (e.payment?.billingCountry && sh.country && sh.country !== e.payment.billingCountry) parts.push([p.abroad, `ships to ${sh.country}, billed in ${e.payment.billingCountry}`]);
    const n = Math.max(f.context.addressAccounts, f.context.session?.addressAccounts ?? 0);
    const shared = ramp(n, p.sharedFloor, p.sharedFull) * p.shared;
    if (shared > 0) parts.push([shared, `${n} accounts ship to this address in 24 h`]);
    if (parts.length === 0) return null;
    return {
      score: Math.min(1, parts.reduce((x, [w]) => x + w, 0)),
      evidence: { address_type: sh.addressType, service_level: sh.serviceLevel, ship_country: sh.country, accounts_at_address: n },
      explanation: parts.map((x) => x[1]).join('; '),
    };
  },
});

export const returnFraud = defineDetector({
  id: 'return_fraud',
  family: 'business_logic',
  description: 'an account refunding most of what it buys, repeatedly, within a day',
  reads: ['user.refunds', 'user.purchases', 'user.refundAmount', 'baseline.log_amount'],
  defaults: { floor: 0, full: 3, share: 0.5, expensive: 3, expensiveBoost: 0.25 },
  score(e, f, b, p) {
    const u = f.context.user;
    if (!u || u.refunds === 0 || (e.subtype !== 'refund' && e.subtype !== 'purchase' && e.subtype !== 'checkout')) return null;
    const share = u.purchases > 0 ? u.refunds / u.purchases : 1;
    if (share < p.share) return null;
    const amounts = b.stats(e.tenant, 'log_amount');
    const expensive = amounts !== undefined && amounts.n >= 8 && u.refundAmount / u.refunds > Math.exp(amounts.median) * p.expensive;
    return {
      score: Math.min(1, ramp(u.refunds, p.floor, p.full) + (expensive ? p.expensiveBoost : 0)),
      evidence: { refunds: u.refunds, purchases: u.purchases, refunded: Math.round(u.refundAmount * 100) / 100 },
      explanation: `${u.refunds} refunds for ${u.purchases} purchases by this account today (${fmt(Math.round(u.refundAmount * 100) / 100)} refunded${expensive ? ", several times this tenant's usual order" : ''})`,
    };
  },
});
