// Workflow code only: deterministic, no I/O (see eslint.config.mjs). The worker bundles this file.
export { batchLayerProbe } from './probe';
export { batchRun } from './batch';
export { fraudTraining } from './fraud-training';
export { applyRetention, gdprErase, gdprExport } from './gdpr';
