// Entry of the generator worker thread: registers tsx (the project runs TypeScript directly,
// and jest's transform does not reach worker threads), then loads the TypeScript worker.
require('../scripts/quiet-warnings.cjs');
require('tsx/cjs');
require('./worker.ts').main();
