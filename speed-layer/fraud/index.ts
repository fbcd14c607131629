// The fraud and anomaly engine (docs/fraud.md): detectors, baselines, ensemble, engine, the
// speed-layer processor and the evaluation.
export * from './baseline';
export * from './detector';
export * from './detectors';
export * from './ensemble';
export * from './engine';
export * from './memory';
export * from './model';
export * from './processor';
export * from '../../core/fraud-signals';
