// Cart arithmetic, in integer cents so the parts always add up:
//   final_total = subtotal − Σ discounts_applied.discount_amount
//               + shipping_costs (base_shipping + expedited_fee + insurance) + Σ tax_breakdown.amount
// Taxes are charged on the discounted merchandise (each line's share of the discount), by the
// shopper's country (VAT, GST, sales taxes), never on exempt lines, plus a luxury tax on luxury
// lines; shipping is not taxed. Pure: the same input gives the same cart value.
import type { CartValue, Discount, TaxLine } from '../core/schema/types';
import {
  BASE_SHIPPING_USD,
  EXPEDITED_FEE_USD,
  FREE_SHIPPING_OVER_USD,
  INSURE_OVER_USD,
  LUXURY_TAX,
  TAXES,
  type Promotion,
  type ServiceLevel,
  type TaxCategory,
} from './catalog';

export interface PricedLine {
  /** Unit price in the cart's currency. */
  unitPrice: number;
  quantity: number;
  taxCategory: TaxCategory;
}

export type CustomerTier = 'platinum' | 'gold' | 'silver' | 'bronze';

export interface CartInput {
  lines: readonly PricedLine[];
  /** Shopper's country: which taxes apply. */
  country: string;
  currency: string;
  /** Units of the currency per USD (thresholds and fees are in USD). */
  fx: number;
  promo?: Promotion;
  /** How the order ships; undefined for goods that do not ship (services). */
  serviceLevel?: ServiceLevel;
  /** Loyalty member's tier, and the points redeemed on this order (1 point = 0.01 USD). */
  loyalty?: { tier: CustomerTier; redeemPoints: number };
}

const TIER_MULTIPLIER: Record<CustomerTier, number> = { platinum: 1.5, gold: 1.25, silver: 1.1, bronze: 1 };
const CASHBACK: Record<CustomerTier, number> = { platinum: 0.02, gold: 0.01, silver: 0, bronze: 0 };
const NO_SHIPPING = Object.freeze({ base_shipping: 0, expedited_fee: 0, insurance: 0 });

const cents = (amount: number): number => Math.round(amount * 100);

/** The brief's cart_value for these lines. */
export function priceCart(i: CartInput): CartValue {
  const lineCents = i.lines.map((l) => cents(l.unitPrice) * l.quantity);
  const subtotal = lineCents.reduce((a, b) => a + b, 0);
  const units = i.lines.reduce((a, l) => a + l.quantity, 0);

  const discounts: Discount[] = [];
  let discounted = 0;
  const promo = i.promo;
  if (promo && subtotal > 0) {
    let amount = 0;
    let value = promo.value;
    if (promo.discount_type === 'percentage') amount = Math.round(subtotal * promo.value);
    else if (promo.discount_type === 'fixed_amount') {
      value = cents(promo.value * i.fx) / 100;
      amount = Math.min(subtotal, cents(value));
    } else if (units >= 2) amount = Math.min(...i.lines.map((l) => cents(l.unitPrice))) * promo.value;
    if (amount > 0) {
      discounts.push({ discount_id: promo.discount_id, discount_type: promo.discount_type, discount_value: value, discount_amount: amount / 100, eligibility_rules: promo.eligibility_rules as string[] });
      discounted += amount;
    }
  }
  let redeemed = 0;
  if (i.loyalty && i.loyalty.redeemPoints > 0 && subtotal - discounted > 0) {
    const amount = Math.min(subtotal - discounted, cents((i.loyalty.redeemPoints / 100) * i.fx));
    redeemed = Math.round(amount / i.fx);
    if (amount > 0 && redeemed > 0) {
      discounts.push({ discount_id: 'loyalty_points', discount_type: 'fixed_amount', discount_value: amount / 100, discount_amount: amount / 100, eligibility_rules: ['loyalty_member'] });
      discounted += amount;
    } else redeemed = 0;
  }
  const net = subtotal - discounted;

  let shipping: CartValue['shipping_costs'] = NO_SHIPPING;
  let shippingCents = 0;
  if (i.serviceLevel !== undefined) {
    const base = net >= FREE_SHIPPING_OVER_USD * 100 * i.fx ? 0 : cents(BASE_SHIPPING_USD * i.fx);
    const expedited = cents(EXPEDITED_FEE_USD[i.serviceLevel] * i.fx);
    const insurance = subtotal >= INSURE_OVER_USD * 100 * i.fx ? Math.round(subtotal * 0.01) : 0;
    shippingCents = base + expedited + insurance;
    shipping = { base_shipping: base / 100, expedited_fee: expedited / 100, insurance: insurance / 100 };
  }

  // Each line bears the discount in proportion to its value.
  const share = subtotal > 0 ? net / subtotal : 0;
  let taxable = 0;
  let luxury = 0;
  for (let k = 0; k < i.lines.length; k++) {
    const c = i.lines[k].taxCategory;
    if (c === 'exempt') continue;
    taxable += lineCents[k] * share;
    if (c === 'luxury') luxury += lineCents[k] * share;
  }
  const taxes: TaxLine[] = [];
  let taxCents = 0;
  if (taxable > 0) {
    for (const t of TAXES[i.country] ?? TAXES.US) {
      const amount = Math.round(taxable * t.rate);
      taxes.push({ type: t.type, rate: t.rate, amount: amount / 100 });
      taxCents += amount;
    }
  }
  if (luxury > 0) {
    const amount = Math.round(luxury * LUXURY_TAX.rate);
    taxes.push({ type: LUXURY_TAX.type, rate: LUXURY_TAX.rate, amount: amount / 100 });
    taxCents += amount;
  }

  const subtotalOut = subtotal / 100;
  const finalTotal = (net + shippingCents + taxCents) / 100;
  if (!i.loyalty) {
    return { subtotal: subtotalOut, tax_breakdown: taxes, shipping_costs: shipping, discounts_applied: discounts, final_total: finalTotal, currency: i.currency };
  }
  const tier = i.loyalty.tier;
  return {
    subtotal: subtotalOut,
    tax_breakdown: taxes,
    shipping_costs: shipping,
    discounts_applied: discounts,
    loyalty_benefits: {
      points_earned: Math.floor((net / 100 / i.fx) * TIER_MULTIPLIER[tier]),
      points_redeemed: redeemed,
      tier_bonus_multiplier: TIER_MULTIPLIER[tier],
      cashback_percentage: CASHBACK[tier],
    },
    final_total: finalTotal,
    currency: i.currency,
  };
}
