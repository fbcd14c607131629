// Static reference data for the generator: geography (countries, cities, time zones, currencies,
// taxes, carriers, cloud regions), the brief's four industry verticals with a three-level product
// hierarchy, brands, user agents, payment methods, promotions, marketing touchpoints, experiments
// and feature flags. Every descriptive value here is one of the brief's known values
// (core/schema/value-sets.ts), so clean traffic raises no value warnings. Everything per-event is
// drawn from tables built once from these.

export interface City {
  city: string;
  region: string;
  lat: number;
  lon: number;
}

export interface Country {
  code: string;
  currency: string;
  /** Offset from UTC in hours (standard time; DST ignored). */
  utcOffset: number;
  timezone: string;
  /** Relative share of shoppers. */
  weight: number;
  cities: City[];
}

export const COUNTRIES: Country[] = [
  { code: 'US', currency: 'USD', utcOffset: -5, timezone: 'America/New_York', weight: 30, cities: [
    { city: 'New York', region: 'NY', lat: 40.7128, lon: -74.006 }, { city: 'Chicago', region: 'IL', lat: 41.8781, lon: -87.6298 },
    { city: 'Austin', region: 'TX', lat: 30.2672, lon: -97.7431 }, { city: 'Seattle', region: 'WA', lat: 47.6062, lon: -122.3321 },
    { city: 'Miami', region: 'FL', lat: 25.7617, lon: -80.1918 } ] },
  { code: 'CA', currency: 'CAD', utcOffset: -5, timezone: 'America/Toronto', weight: 5, cities: [
    { city: 'Toronto', region: 'ON', lat: 43.6532, lon: -79.3832 }, { city: 'Vancouver', region: 'BC', lat: 49.2827, lon: -123.1207 } ] },
  { code: 'BR', currency: 'BRL', utcOffset: -3, timezone: 'America/Sao_Paulo', weight: 5, cities: [
    { city: 'Sao Paulo', region: 'SP', lat: -23.5505, lon: -46.6333 }, { city: 'Rio de Janeiro', region: 'RJ', lat: -22.9068, lon: -43.1729 } ] },
  { code: 'MX', currency: 'MXN', utcOffset: -6, timezone: 'America/Mexico_City', weight: 3, cities: [
    { city: 'Mexico City', region: 'CMX', lat: 19.4326, lon: -99.1332 }, { city: 'Guadalajara', region: 'JAL', lat: 20.6597, lon: -103.3496 } ] },
  { code: 'GB', currency: 'GBP', utcOffset: 0, timezone: 'Europe/London', weight: 9, cities: [
    { city: 'London', region: 'ENG', lat: 51.5074, lon: -0.1278 }, { city: 'Manchester', region: 'ENG', lat: 53.4808, lon: -2.2426 },
    { city: 'Edinburgh', region: 'SCT', lat: 55.9533, lon: -3.1883 } ] },
  { code: 'DE', currency: 'EUR', utcOffset: 1, timezone: 'Europe/Berlin', weight: 8, cities: [
    { city: 'Berlin', region: 'BE', lat: 52.52, lon: 13.405 }, { city: 'Munich', region: 'BY', lat: 48.1351, lon: 11.582 },
    { city: 'Hamburg', region: 'HH', lat: 53.5511, lon: 9.9937 } ] },
  { code: 'FR', currency: 'EUR', utcOffset: 1, timezone: 'Europe/Paris', weight: 7, cities: [
    { city: 'Paris', region: 'IDF', lat: 48.8566, lon: 2.3522 }, { city: 'Lyon', region: 'ARA', lat: 45.764, lon: 4.8357 } ] },
  { code: 'ES', currency: 'EUR', utcOffset: 1, timezone: 'Europe/Madrid', weight: 4, cities: [
    { city: 'Madrid', region: 'MD', lat: 40.4168, lon: -3.7038 }, { city: 'Barcelona', region: 'CT', lat: 41.3874, lon: 2.1686 } ] },
  { code: 'NL', currency: 'EUR', utcOffset: 1, timezone: 'Europe/Amsterdam', weight: 3, cities: [
    { city: 'Amsterdam', region: 'NH', lat: 52.3676, lon: 4.9041 }, { city: 'Rotterdam', region: 'ZH', lat: 51.9244, lon: 4.4777 } ] },
  { code: 'PL', currency: 'PLN', utcOffset: 1, timezone: 'Europe/Warsaw', weight: 3, cities: [
    { city: 'Warsaw', region: 'MZ', lat: 52.2297, lon: 21.0122 }, { city: 'Krakow', region: 'MA', lat: 50.0647, lon: 19.945 } ] },
  { code: 'RU', currency: 'RUB', utcOffset: 3, timezone: 'Europe/Moscow', weight: 1, cities: [
    { city: 'Moscow', region: 'MOW', lat: 55.7558, lon: 37.6173 } ] },
  { code: 'NG', currency: 'NGN', utcOffset: 1, timezone: 'Africa/Lagos', weight: 1, cities: [
    { city: 'Lagos', region: 'LA', lat: 6.5244, lon: 3.3792 } ] },
  { code: 'IN', currency: 'INR', utcOffset: 5.5, timezone: 'Asia/Kolkata', weight: 8, cities: [
    { city: 'Mumbai', region: 'MH', lat: 19.076, lon: 72.8777 }, { city: 'Bengaluru', region: 'KA', lat: 12.9716, lon: 77.5946 },
    { city: 'Delhi', region: 'DL', lat: 28.7041, lon: 77.1025 } ] },
  { code: 'SG', currency: 'SGD', utcOffset: 8, timezone: 'Asia/Singapore', weight: 2, cities: [
    { city: 'Singapore', region: 'SG', lat: 1.3521, lon: 103.8198 } ] },
  { code: 'JP', currency: 'JPY', utcOffset: 9, timezone: 'Asia/Tokyo', weight: 6, cities: [
    { city: 'Tokyo', region: '13', lat: 35.6762, lon: 139.6503 }, { city: 'Osaka', region: '27', lat: 34.6937, lon: 135.5023 } ] },
  { code: 'AU', currency: 'AUD', utcOffset: 10, timezone: 'Australia/Sydney', weight: 4, cities: [
    { city: 'Sydney', region: 'NSW', lat: -33.8688, lon: 151.2093 }, { city: 'Melbourne', region: 'VIC', lat: -37.8136, lon: 144.9631 } ] },
];

/** Share of shopping by local hour of day (0–23): quiet at night, peaks in the evening. */
export const DIURNAL: readonly number[] = [
  0.18, 0.12, 0.08, 0.06, 0.06, 0.08, 0.15, 0.3, 0.45, 0.55, 0.62, 0.68,
  0.72, 0.7, 0.66, 0.64, 0.66, 0.72, 0.82, 0.92, 1.0, 0.95, 0.7, 0.38,
];

export type Condition = 'new' | 'refurbished' | 'used';
export type TaxCategory = 'standard' | 'luxury' | 'exempt';

export interface Vertical {
  /** The brief's industry_vertical. */
  name: 'fashion' | 'electronics' | 'grocery' | 'services';
  /** category_l1 → l2 → l3 leaves. */
  tree: Record<string, Record<string, string[]>>;
  brands: string[];
  /** Typical price range (USD). */
  price: [number, number];
  /** Share of products sold refurbished / used. */
  refurbished: number;
  used: number;
  /** Share of products that are tax-exempt (basic groceries, some services). */
  exempt: number;
  /** Above this list price (USD) a product is in the luxury tax category. */
  luxuryAbove: number;
  /** Physical goods ship; services do not. */
  ships: boolean;
  colors: readonly string[];
  sizes: readonly string[];
  certifications: readonly string[];
}

export const VERTICALS: Vertical[] = [
  { name: 'electronics', price: [15, 2400], refurbished: 0.12, used: 0.04, exempt: 0, luxuryAbove: 1800, ships: true,
    brands: ['Voltra', 'Nexon', 'Pixelwave', 'Auralis', 'Kinetiq'], colors: ['Black', 'Silver', 'Space Grey', 'White'], sizes: ['S', 'M', 'L'],
    certifications: ['CE', 'FCC', 'Energy Star', 'RoHS'], tree: {
      Computers: { Laptops: ['Ultrabooks', 'Gaming laptops'], Accessories: ['Keyboards', 'Mice', 'Docks'] },
      Phones: { Smartphones: ['Flagship', 'Midrange'], Accessories: ['Cases', 'Chargers'] },
      Audio: { Headphones: ['Over-ear', 'In-ear'], Speakers: ['Portable', 'Smart speakers'] },
      Home: { Appliances: ['Coffee makers', 'Vacuum robots'], Smart: ['Thermostats', 'Cameras'] } } },
  { name: 'fashion', price: [9, 650], refurbished: 0, used: 0.04, exempt: 0, luxuryAbove: 450, ships: true,
    brands: ['Norde', 'Calloway', 'Ivy & Oak', 'Stride', 'Maren', 'Fjellgard'], colors: ['Black', 'White', 'Navy', 'Moss', 'Sand', 'Burgundy'],
    sizes: ['XS', 'S', 'M', 'L', 'XL', '38', '40', '42', '44'], certifications: ['OEKO-TEX', 'bluesign', 'GOTS', 'Fair Trade'], tree: {
      Women: { Dresses: ['Casual', 'Evening'], Shoes: ['Sneakers', 'Boots'] },
      Men: { Shirts: ['Oxford', 'T-shirts'], Outerwear: ['Rain jackets', 'Coats'] },
      Accessories: { Bags: ['Backpacks', 'Totes'], Watches: ['Analog', 'Smart'] },
      Beauty: { Skincare: ['Serums', 'Moisturizers'], Makeup: ['Mascara', 'Lipstick'] } } },
  { name: 'grocery', price: [1, 120], refurbished: 0, used: 0, exempt: 0.7, luxuryAbove: 100, ships: true,
    brands: ['FreshFields', 'Daily Basket', 'Oro', 'GreenLeaf'], colors: [], sizes: ['250g', '500g', '1kg', '6-pack'],
    certifications: ['organic', 'fair_trade', 'vegan', 'gluten_free'], tree: {
      Pantry: { Grains: ['Rice', 'Pasta'], Snacks: ['Chips', 'Nuts'] },
      Beverages: { Coffee: ['Beans', 'Capsules'], Tea: ['Green', 'Black'] },
      Fresh: { Produce: ['Fruit', 'Vegetables'], Dairy: ['Cheese', 'Yogurt'] },
      Household: { Cleaning: ['Detergent', 'Sponges'], Paper: ['Towels', 'Tissues'] } } },
  { name: 'services', price: [5, 4800], refurbished: 0, used: 0, exempt: 0.25, luxuryAbove: 3000, ships: false,
    brands: ['Skyway', 'Roamly', 'Harbor Stays', 'Streamly', 'Codex', 'FixIt Pro'], colors: [], sizes: ['monthly', 'annual', 'single'],
    certifications: ['ISO 27001', 'SOC 2'], tree: {
      Travel: { Flights: ['Domestic', 'International'], Stays: ['City hotels', 'Resorts'] },
      Subscriptions: { Streaming: ['Video', 'Music'], Software: ['Productivity', 'Security'] },
      'Gift cards': { Retail: ['Prepaid', 'Store cards'], Entertainment: ['Gaming credits', 'Cinema'] },
      Repairs: { Devices: ['Screen repair', 'Battery swap'], Home: ['Plumbing', 'Electrical'] } } },
];

export const MERCHANT_TIERS = ['enterprise', 'standard', 'startup'] as const;
export const BUSINESS_MODELS = ['b2c', 'b2b', 'marketplace', 'subscription'] as const;
/** Business-model weights by vertical (services sell subscriptions; grocery rarely runs a marketplace). */
export const BUSINESS_MODEL_WEIGHTS: Record<Vertical['name'], number[]> = {
  electronics: [55, 15, 25, 5],
  fashion: [60, 5, 30, 5],
  grocery: [70, 15, 5, 10],
  services: [35, 15, 10, 40],
};

export interface UserAgent {
  browser: { name: string; version: string };
  os: { name: string; version: string };
  device: { type: string; brand?: string };
  raw: string;
}

const ua = (browser: string, bv: string, os: string, ov: string, type: string, brand: string | undefined, raw: string): UserAgent =>
  Object.freeze({ browser: Object.freeze({ name: browser, version: bv }), os: Object.freeze({ name: os, version: ov }), device: Object.freeze(brand ? { type, brand } : { type }), raw });

export const USER_AGENTS: UserAgent[] = [
  ua('Chrome', '131.0', 'Windows', '11', 'desktop', 'Dell', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36'),
  ua('Safari', '18.1', 'iOS', '18.1.1', 'mobile', 'Apple', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1'),
  ua('Chrome', '131.0', 'Android', '15', 'mobile', 'Google', 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36'),
  ua('Samsung Internet', '26.0', 'Android', '14', 'mobile', 'Samsung', 'Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 SamsungBrowser/26.0 Mobile Safari/537.36'),
  ua('Safari', '18.1', 'macOS', '15.1', 'desktop', 'Apple', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 15_1) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15'),
  ua('Firefox', '133.0', 'Windows', '11', 'desktop', 'Lenovo', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0'),
  ua('Edge', '131.0', 'Windows', '10', 'desktop', 'HP', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0'),
  ua('Safari', '18.1', 'iPadOS', '18.1', 'tablet', 'Apple', 'Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1'),
  ua('Samsung Internet', '26.0', 'Android', '14', 'tablet', 'Samsung', 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 SamsungBrowser/26.0 Safari/537.36'),
];
export const USER_AGENT_WEIGHTS = [28, 24, 14, 6, 10, 6, 5, 5, 2];

export const BOT_USER_AGENTS: UserAgent[] = [
  ua('HeadlessChrome', '131.0', 'Linux', 'x86_64', 'desktop', undefined, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36'),
  ua('python-requests', '2.32.3', 'Linux', 'x86_64', 'bot', undefined, 'python-requests/2.32.3'),
  ua('Chrome', '131.0', 'Linux', 'x86_64', 'desktop', undefined, 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36'),
];

export const METHOD_TYPES = ['credit_card', 'debit_card', 'digital_wallet', 'bnpl', 'crypto'] as const;
export type MethodType = (typeof METHOD_TYPES)[number];
export const METHOD_WEIGHTS = [45, 20, 25, 8, 2];
/** Providers by method type; crypto has none of the brief's providers, so it carries no provider. */
export const PAYMENT_PROVIDERS: Record<MethodType, readonly string[]> = {
  credit_card: ['visa', 'visa', 'mastercard', 'mastercard', 'amex'],
  debit_card: ['visa', 'mastercard'],
  digital_wallet: ['paypal', 'apple_pay'],
  bnpl: ['klarna'],
  crypto: [],
};

export type Carrier = 'fedex' | 'ups' | 'dhl' | 'usps';
export type ServiceLevel = 'ground' | 'express' | 'overnight' | 'same_day';
export const SERVICE_LEVELS: readonly ServiceLevel[] = ['ground', 'express', 'overnight', 'same_day'];
export const SERVICE_LEVEL_WEIGHTS = [78, 15, 5, 2];
/** Delivery days and expedited fee (USD) by service level. */
export const SERVICE_DAYS: Record<ServiceLevel, [number, number]> = { ground: [3, 7], express: [2, 3], overnight: [1, 1], same_day: [0, 0] };
export const EXPEDITED_FEE_USD: Record<ServiceLevel, number> = { ground: 0, express: 9.99, overnight: 24.99, same_day: 14.99 };
export const BASE_SHIPPING_USD = 5.99;
export const FREE_SHIPPING_OVER_USD = 50;
export const INSURE_OVER_USD = 500;

/** Tax lines by the shopper's country: `type` and `rate` of each (VAT, GST, sales taxes…). */
export const TAXES: Record<string, readonly { type: string; rate: number }[]> = {
  US: [{ type: 'state_sales_tax', rate: 0.0625 }, { type: 'local_sales_tax', rate: 0.02 }],
  CA: [{ type: 'gst', rate: 0.05 }, { type: 'pst', rate: 0.07 }],
  BR: [{ type: 'icms', rate: 0.17 }],
  MX: [{ type: 'iva', rate: 0.16 }],
  GB: [{ type: 'vat', rate: 0.2 }],
  DE: [{ type: 'vat', rate: 0.19 }],
  FR: [{ type: 'vat', rate: 0.2 }],
  ES: [{ type: 'vat', rate: 0.21 }],
  NL: [{ type: 'vat', rate: 0.21 }],
  PL: [{ type: 'vat', rate: 0.23 }],
  RU: [{ type: 'vat', rate: 0.2 }],
  NG: [{ type: 'vat', rate: 0.075 }],
  IN: [{ type: 'gst', rate: 0.18 }],
  SG: [{ type: 'gst', rate: 0.09 }],
  JP: [{ type: 'consumption_tax', rate: 0.1 }],
  AU: [{ type: 'gst', rate: 0.1 }],
};
export const LUXURY_TAX = { type: 'luxury_tax', rate: 0.1 } as const;

/** Carriers by the shopper's country (first is the most used). */
export const CARRIERS_BY_COUNTRY: Record<string, readonly Carrier[]> = {
  US: ['ups', 'usps', 'fedex', 'ups', 'usps'],
  CA: ['ups', 'fedex', 'dhl'],
  MX: ['dhl', 'fedex', 'ups'],
  BR: ['dhl', 'fedex'],
};
export const DEFAULT_CARRIERS: readonly Carrier[] = ['dhl', 'dhl', 'ups', 'fedex'];

/** Cloud region, zones and CDN edges serving a country. */
export interface Region {
  region: string;
  zones: readonly string[];
  edges: readonly string[];
}
export const REGIONS: Record<string, Region> = {
  'us-east-1': { region: 'us-east-1', zones: ['us-east-1a', 'us-east-1b', 'us-east-1c'], edges: ['edge_iad', 'edge_ord', 'edge_atl', 'edge_yyz'] },
  'us-west-2': { region: 'us-west-2', zones: ['us-west-2a', 'us-west-2b'], edges: ['edge_sea', 'edge_sfo', 'edge_yvr'] },
  'sa-east-1': { region: 'sa-east-1', zones: ['sa-east-1a', 'sa-east-1b'], edges: ['edge_gru', 'edge_gig', 'edge_mex'] },
  'eu-central-1': { region: 'eu-central-1', zones: ['eu-central-1a', 'eu-central-1b', 'eu-central-1c'], edges: ['edge_fra', 'edge_waw', 'edge_ams', 'edge_mad'] },
  'eu-west-2': { region: 'eu-west-2', zones: ['eu-west-2a', 'eu-west-2b'], edges: ['edge_lhr', 'edge_man', 'edge_cdg'] },
  'af-south-1': { region: 'af-south-1', zones: ['af-south-1a'], edges: ['edge_los'] },
  'ap-south-1': { region: 'ap-south-1', zones: ['ap-south-1a', 'ap-south-1b'], edges: ['edge_bom', 'edge_blr', 'edge_del'] },
  'ap-southeast-1': { region: 'ap-southeast-1', zones: ['ap-southeast-1a', 'ap-southeast-1b'], edges: ['edge_sin'] },
  'ap-northeast-1': { region: 'ap-northeast-1', zones: ['ap-northeast-1a', 'ap-northeast-1c'], edges: ['edge_nrt', 'edge_kix'] },
  'ap-southeast-2': { region: 'ap-southeast-2', zones: ['ap-southeast-2a', 'ap-southeast-2b'], edges: ['edge_syd', 'edge_mel'] },
};
export const REGION_OF_COUNTRY: Record<string, string> = {
  US: 'us-east-1', CA: 'us-east-1', BR: 'sa-east-1', MX: 'sa-east-1', GB: 'eu-west-2', DE: 'eu-central-1', FR: 'eu-west-2', ES: 'eu-central-1',
  NL: 'eu-central-1', PL: 'eu-central-1', RU: 'eu-central-1', NG: 'af-south-1', IN: 'ap-south-1', SG: 'ap-southeast-1', JP: 'ap-northeast-1', AU: 'ap-southeast-2',
};

export type DiscountType = 'percentage' | 'fixed_amount' | 'buy_x_get_y';
export interface Promotion {
  discount_id: string;
  discount_type: DiscountType;
  /** Share of the subtotal (percentage), an amount in USD (fixed_amount), or free units (buy_x_get_y). */
  value: number;
  eligibility_rules: readonly string[];
}
export const PROMOTIONS: readonly Promotion[] = [
  { discount_id: 'promo_welcome10', discount_type: 'percentage', value: 0.1, eligibility_rules: ['first_order', 'new_customer'] },
  { discount_id: 'promo_spring15', discount_type: 'percentage', value: 0.15, eligibility_rules: ['min_order_50'] },
  { discount_id: 'promo_vip20', discount_type: 'percentage', value: 0.2, eligibility_rules: ['loyalty_member', 'tier_gold_plus'] },
  { discount_id: 'promo_flat10', discount_type: 'fixed_amount', value: 10, eligibility_rules: ['min_order_75'] },
  { discount_id: 'promo_flash25', discount_type: 'percentage', value: 0.25, eligibility_rules: ['flash_sale', 'while_stocks_last'] },
  { discount_id: 'promo_b1g1', discount_type: 'buy_x_get_y', value: 1, eligibility_rules: ['min_items_2', 'cheapest_item_free'] },
];
/** Promotions an abuser can farm with fresh accounts (new-customer offers). */
export const NEW_CUSTOMER_PROMOTIONS: readonly Promotion[] = [PROMOTIONS[0], PROMOTIONS[3]];

/** Marketing touchpoints; the paid ones carry a campaign id. */
export const TOUCHPOINTS = ['organic_search', 'paid_search', 'email_campaign', 'instagram_ad', 'facebook_ad', 'tiktok_ad', 'display_ad', 'affiliate', 'direct', 'push_notification'] as const;
export const TOUCHPOINT_WEIGHTS = [24, 14, 12, 8, 6, 5, 5, 5, 17, 4];
export const PAID_TOUCHPOINTS: ReadonlySet<string> = new Set(['paid_search', 'email_campaign', 'instagram_ad', 'facebook_ad', 'tiktok_ad', 'display_ad', 'affiliate', 'push_notification']);
export const CAMPAIGNS = ['aw26_outerwear', 'bf26_doorbusters', 'spring_refresh', 'loyalty_reminder', 'cart_recovery', 'new_arrivals', 'brand_awareness', 'retargeting_7d'];

export type ExperimentType = 'ui_test' | 'algorithm_test' | 'feature_flag';
export interface Experiment {
  experiment_id: string;
  experiment_type: ExperimentType;
  variants: readonly string[];
  /** Start of the experiment (UTC ms), used as the allocation time of sessions before it. */
  startMs: number;
}
export const EXPERIMENTS: readonly Experiment[] = [
  { experiment_id: 'checkout_one_tap_v2', experiment_type: 'ui_test', variants: ['control', 'treatment_a'], startMs: Date.UTC(2025, 10, 18, 8) },
  { experiment_id: 'reco_carousel_ranker', experiment_type: 'algorithm_test', variants: ['control', 'two_tower', 'session_gru'], startMs: Date.UTC(2025, 11, 2, 9) },
  { experiment_id: 'free_ship_threshold_40', experiment_type: 'ui_test', variants: ['control', 'treatment_a'], startMs: Date.UTC(2025, 11, 10, 0) },
  { experiment_id: 'search_rerank_bm25_vs_dense', experiment_type: 'algorithm_test', variants: ['control', 'dense'], startMs: Date.UTC(2025, 9, 1, 12) },
  { experiment_id: 'pdp_video_gallery', experiment_type: 'feature_flag', variants: ['off', 'on'], startMs: Date.UTC(2025, 11, 20, 6) },
];
export interface Flag {
  flag_name: string;
  rollout_percentage: number;
  variants: readonly string[];
}
export const FEATURE_FLAGS: readonly Flag[] = [
  { flag_name: 'wallet_first_checkout', rollout_percentage: 50, variants: ['on'] },
  { flag_name: 'new_cart_drawer', rollout_percentage: 100, variants: ['on'] },
  { flag_name: 'live_chat_widget', rollout_percentage: 25, variants: ['on'] },
  { flag_name: 'dark_mode', rollout_percentage: 10, variants: ['on'] },
  { flag_name: 'address_autocomplete', rollout_percentage: 75, variants: ['google', 'loqate'] },
];

export const STREETS = ['Main St', 'Oak Ave', 'High St', 'Station Rd', 'Maple Dr', 'Church Ln', 'Park Ave', 'Market St', 'King St', 'Mill Rd'];
export const FIRST_NAMES = ['alex', 'sam', 'maria', 'li', 'noah', 'emma', 'omar', 'yuki', 'lena', 'raj', 'ana', 'tom', 'zoe', 'ivan', 'chen', 'sofia'];
export const LAST_NAMES = ['smith', 'garcia', 'mueller', 'tanaka', 'kowalski', 'silva', 'patel', 'brown', 'rossi', 'novak', 'kim', 'dubois'];
export const EMAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'web.de'];
export const BEHAVIORAL_SEGMENTS = ['deal_seeker', 'mobile_first', 'brand_loyal', 'high_spender', 'window_shopper', 'weekend_buyer'];
/** Known freight-forwarder / reshipper addresses (shipping-fraud drops); commercial addresses. */
export const FORWARDER_ADDRESSES = [
  { line: '4410 NW 72nd Ave Unit 118', country: 'US', postal: '33166' },
  { line: '1 Reship Way Ste 900', country: 'US', postal: '19720' },
  { line: '77 Freight Park Bldg C', country: 'GB', postal: 'TW6 3XA' },
];
