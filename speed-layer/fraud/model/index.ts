// The trained fraud model (docs/fraud.md, "The trained model"): features, training, the model
// document and its scorer, drift, and the provider that hot-loads the lake's champion.
export * from './drift';
export * from './features';
export * from './fit';
export * from './model';
export * from './provider';
export * from './roc';
export * from './train';
export * from './replay';
