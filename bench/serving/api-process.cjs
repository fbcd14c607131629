// The serving benchmark's API: the real API (serving/main.ts startApi) on the benchmark's own
// topics and lake prefix, API_WORKERS processes behind one port as `rtap api` runs it (a cluster
// primary forking workers; each worker re-runs this script). argv[2] is JSON:
// {"topics": {...}, "lakePrefix": "...", "offsetBucketSize": 10000}.
require('../../scripts/quiet-warnings.cjs');
require('tsx/cjs');
const cluster = require('node:cluster');
const { config } = require('../../core/config.ts');
const { createLogger } = require('../../core/logger.ts');
const { registry } = require('../../core/metrics.ts');
const { metricsFromPrimary, runPrimary, serveMetricsToPrimary } = require('../../serving/cluster.ts');
const { startApi } = require('../../serving/main.ts');

async function main() {
  const args = JSON.parse(process.argv[2]);
  const cfg = config();
  if (cluster.isPrimary && cfg.api.workers > 1) {
    process.exit(await runPrimary({ workers: cfg.api.workers, log: createLogger('api') }));
  }
  let metrics;
  if (cluster.isWorker) {
    serveMetricsToPrimary(registry);
    metrics = metricsFromPrimary();
  }
  const api = await startApi(cfg, args.topics, { metrics, lakePrefix: args.lakePrefix, offsetBucketSize: args.offsetBucketSize });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 15000).unref();
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
