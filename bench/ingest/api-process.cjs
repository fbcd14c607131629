// The benchmark's API process: the real API (serving/main.ts) on the benchmark's own topics.
require('../../scripts/quiet-warnings.cjs');
require('tsx/cjs');
const { startApi } = require('../../serving/main.ts');
const { config } = require('../../core/config.ts');

const topics = JSON.parse(process.argv[2]);
startApi(config(), topics).then(
  (api) => process.once('SIGTERM', () => api.close().then(() => process.exit(0))),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
