// The event contract: types, JSON Schemas, the versioned registry (validate / upcast / read) and
// the compatibility checker. Import from here.
export * from './types';
export * from './json-schemas';
export * from './registry';
export * from './compat';
export * from './timestamps';
export * from './value-sets';
