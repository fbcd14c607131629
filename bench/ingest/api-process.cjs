// The benchmark's API process: the real API (serving/main.ts, API_WORKERS processes behind one
// port, as `rtap api` runs it) on the benchmark's own topics. Cluster workers re-run this script.
require('../../scripts/quiet-warnings.cjs');
require('tsx/cjs');
const { runApi } = require('../../serving/main.ts');

runApi(JSON.parse(process.argv[2])).catch((err) => {
  console.error(err);
  process.exit(1);
});
