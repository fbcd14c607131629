// Static reference data for the generator: geography (countries, cities, time zones, currencies),
// industry verticals with a three-level product hierarchy, brands, user agents, carriers, payment
// providers and promotions. Everything per-event is drawn from tables built once from these.

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

export interface Vertical {
  name: string;
  /** category_l1 → l2 → l3 leaves. */
  tree: Record<string, Record<string, string[]>>;
  brands: string[];
  /** Typical price range (USD). */
  price: [number, number];
  taxCategory: string;
}

export const VERTICALS: Vertical[] = [
  { name: 'electronics', price: [15, 2400], taxCategory: 'standard', brands: ['Voltra', 'Nexon', 'Pixelwave', 'Auralis', 'Kinetiq'], tree: {
    Computers: { Laptops: ['Ultrabooks', 'Gaming Laptops'], Accessories: ['Keyboards', 'Mice', 'Docks'] },
    Phones: { Smartphones: ['Flagship', 'Midrange'], Accessories: ['Cases', 'Chargers'] },
    Audio: { Headphones: ['Over-ear', 'In-ear'], Speakers: ['Portable', 'Smart'] } } },
  { name: 'fashion', price: [9, 450], taxCategory: 'clothing', brands: ['Norde', 'Calloway', 'Ivy & Oak', 'Stride', 'Maren'], tree: {
    Women: { Dresses: ['Casual', 'Evening'], Shoes: ['Sneakers', 'Boots'] },
    Men: { Shirts: ['Oxford', 'T-Shirts'], Outerwear: ['Jackets', 'Coats'] },
    Accessories: { Bags: ['Backpacks', 'Totes'], Watches: ['Analog', 'Smart'] } } },
  { name: 'home_garden', price: [5, 1800], taxCategory: 'standard', brands: ['Hearthly', 'Verdant', 'Oakline', 'Lumo'], tree: {
    Furniture: { Living: ['Sofas', 'Tables'], Bedroom: ['Beds', 'Wardrobes'] },
    Kitchen: { Cookware: ['Pans', 'Knives'], Appliances: ['Blenders', 'Coffee Makers'] },
    Garden: { Tools: ['Mowers', 'Hand Tools'], Outdoor: ['Grills', 'Lighting'] } } },
  { name: 'grocery', price: [1, 120], taxCategory: 'reduced', brands: ['FreshFields', 'Daily Basket', 'Oro', 'GreenLeaf'], tree: {
    Pantry: { Grains: ['Rice', 'Pasta'], Snacks: ['Chips', 'Nuts'] },
    Beverages: { Coffee: ['Beans', 'Capsules'], Tea: ['Green', 'Black'] },
    Fresh: { Produce: ['Fruit', 'Vegetables'], Dairy: ['Cheese', 'Yogurt'] } } },
  { name: 'beauty', price: [4, 260], taxCategory: 'standard', brands: ['Lumiere', 'Petal', 'Skinlab', 'Aurea'], tree: {
    Skincare: { Face: ['Serums', 'Moisturizers'], Body: ['Lotions', 'Sunscreen'] },
    Makeup: { Eyes: ['Mascara', 'Liner'], Lips: ['Lipstick', 'Gloss'] } } },
  { name: 'sports', price: [8, 3200], taxCategory: 'standard', brands: ['Apex', 'Trailborn', 'Kairo', 'Summit'], tree: {
    Fitness: { Equipment: ['Dumbbells', 'Treadmills'], Apparel: ['Leggings', 'Tops'] },
    Cycling: { Bikes: ['Road', 'Mountain'], Parts: ['Tires', 'Lights'] },
    Outdoor: { Camping: ['Tents', 'Sleeping Bags'], Hiking: ['Boots', 'Packs'] } } },
  { name: 'digital_goods', price: [1, 300], taxCategory: 'digital', brands: ['Gamevault', 'Streamly', 'Codex', 'GiftHub'], tree: {
    Gaming: { Credits: ['Top-ups', 'Season Passes'], Games: ['Action', 'Strategy'] },
    GiftCards: { Retail: ['Prepaid', 'Store Cards'], Entertainment: ['Music', 'Video'] } } },
  { name: 'travel', price: [40, 4800], taxCategory: 'services', brands: ['Skyway', 'Roamly', 'Harbor Stays', 'Transit+'], tree: {
    Flights: { Domestic: ['Economy', 'Business'], International: ['Economy', 'Business'] },
    Stays: { Hotels: ['City', 'Resort'], Rentals: ['Apartment', 'Villa'] } } },
];

export const MERCHANT_TIERS = ['enterprise', 'mid_market', 'smb', 'startup'] as const;
export const BUSINESS_MODELS = ['b2c_marketplace', 'd2c_brand', 'subscription', 'b2b_wholesale', 'flash_sales'] as const;

export interface UserAgent {
  browser: string;
  os: string;
  device: string;
  raw: string;
}

export const USER_AGENTS: UserAgent[] = [
  { browser: 'Chrome 131', os: 'Windows 11', device: 'desktop', raw: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36' },
  { browser: 'Safari 18', os: 'iOS 18', device: 'mobile', raw: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Mobile/15E148 Safari/604.1' },
  { browser: 'Chrome 131', os: 'Android 15', device: 'mobile', raw: 'Mozilla/5.0 (Linux; Android 15; Pixel 9) AppleWebKit/537.36 Chrome/131.0 Mobile Safari/537.36' },
  { browser: 'Safari 18', os: 'macOS 15', device: 'desktop', raw: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 15_1) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15' },
  { browser: 'Firefox 133', os: 'Windows 11', device: 'desktop', raw: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0' },
  { browser: 'Edge 131', os: 'Windows 10', device: 'desktop', raw: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0' },
  { browser: 'Samsung Internet 26', os: 'Android 14', device: 'tablet', raw: 'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 SamsungBrowser/26.0 Safari/537.36' },
];
export const USER_AGENT_WEIGHTS = [30, 25, 22, 10, 6, 5, 2];

export const BOT_USER_AGENTS: UserAgent[] = [
  { browser: 'HeadlessChrome 131', os: 'Linux', device: 'desktop', raw: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36' },
  { browser: 'python-requests 2.32', os: 'Linux', device: 'other', raw: 'python-requests/2.32.3' },
  { browser: 'Chrome 131', os: 'Linux', device: 'desktop', raw: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36' },
];

export const PAYMENT_PROVIDERS: Record<string, string[]> = {
  card: ['visa', 'mastercard', 'amex', 'discover'],
  wallet: ['apple_pay', 'google_pay', 'paypal'],
  bank_transfer: ['sepa', 'ach', 'ideal'],
  bnpl: ['klarna', 'afterpay', 'affirm'],
  gift_card: ['store_credit'],
};
export const METHOD_TYPES = ['card', 'wallet', 'bank_transfer', 'bnpl', 'gift_card'] as const;
export const METHOD_WEIGHTS = [60, 25, 6, 8, 1];

export const CARRIERS = [
  { carrier: 'UPS', levels: ['ground', 'express'] },
  { carrier: 'FedEx', levels: ['ground', 'overnight'] },
  { carrier: 'DHL', levels: ['standard', 'express'] },
  { carrier: 'USPS', levels: ['priority', 'first_class'] },
  { carrier: 'Royal Mail', levels: ['tracked_48', 'tracked_24'] },
];

export const PROMO_CODES = ['WELCOME10', 'SPRING15', 'FREESHIP', 'VIP20', 'FLASH25', 'BUNDLE5'];
export const TOUCHPOINTS = ['organic_search', 'paid_search', 'email', 'social', 'display', 'affiliate', 'direct', 'push'];
export const EXPERIMENTS = ['exp_checkout_v3', 'exp_reco_carousel', 'exp_free_ship_threshold', 'exp_search_rerank', 'exp_one_click'];
export const FEATURE_FLAGS = ['ff_new_cart', 'ff_dark_mode', 'ff_fast_checkout', 'ff_wallet_first', 'ff_live_chat'];
export const STREETS = ['Main St', 'Oak Ave', 'High St', 'Station Rd', 'Maple Dr', 'Church Ln', 'Park Ave', 'Market St', 'King St', 'Mill Rd'];
export const FIRST_NAMES = ['alex', 'sam', 'maria', 'li', 'noah', 'emma', 'omar', 'yuki', 'lena', 'raj', 'ana', 'tom', 'zoe', 'ivan', 'chen', 'sofia'];
export const LAST_NAMES = ['smith', 'garcia', 'mueller', 'tanaka', 'kowalski', 'silva', 'patel', 'brown', 'rossi', 'novak', 'kim', 'dubois'];
export const EMAIL_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me', 'web.de'];
/** Known freight-forwarder / reshipper addresses (shipping-fraud drops). */
export const FORWARDER_ADDRESSES = [
  { line: '4410 NW 72nd Ave Unit 118', country: 'US', postal: '33166' },
  { line: '1 Reship Way Ste 900', country: 'US', postal: '19720' },
  { line: '77 Freight Park Bldg C', country: 'GB', postal: 'TW6 3XA' },
];
