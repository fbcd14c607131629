// Measures defined once (docs/measures.md): the declaration, the speed layer's aggregator and the
// batch layer's DuckDB SQL derived from it, and the mergeable sketch and digest both share.
export * from './fields';
export * from './declaration';
export * from './hll';
export * from './digest';
export * from './cells';
export * from './extract';
export * from './copy-on-write';
export * from './aggregator';
export * from './sql';
export * from './dedup';
