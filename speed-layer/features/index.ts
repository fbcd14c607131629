// The fraud engine's feature store (store.ts) and its ring counters (ring.ts).
export * from './ring';
export * from './store';
export * from './processor';
