// Every detector, in the order the API and docs list them.
import type { Detector } from '../detector';
import { accountRing, accountTakeover, botTiming, botUserAgent, coordinatedAccounts, loginBurst, noBrowsing, noHumanInput, rareCountry, sessionHijack, syntheticIdentity } from './behavioural';
import { inventoryManipulation, priceManipulation, promoAbuse, returnFraud, shippingFraud } from './business';
import { amountOutlier, cardSharing, cardTesting, declineBurst, impossibleTravel, paymentGeoMismatch, velocity } from './financial';
import { apiAbuse, dataQuality, latencyDegradation, rateViolation, trafficSpike } from './technical';

export const DETECTORS: readonly Detector[] = [
  velocity,
  amountOutlier,
  impossibleTravel,
  cardSharing,
  cardTesting,
  declineBurst,
  paymentGeoMismatch,
  sessionHijack,
  botUserAgent,
  noHumanInput,
  botTiming,
  accountTakeover,
  loginBurst,
  coordinatedAccounts,
  accountRing,
  syntheticIdentity,
  noBrowsing,
  rareCountry,
  promoAbuse,
  priceManipulation,
  inventoryManipulation,
  shippingFraud,
  returnFraud,
  apiAbuse,
  rateViolation,
  trafficSpike,
  latencyDegradation,
  dataQuality,
];

export * from './behavioural';
export * from './business';
export * from './financial';
export * from './technical';
