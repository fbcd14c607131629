// Bootstrap of a stream thread (./threads.ts): worker threads start without the parent's tsx
// hook, so this loads it before the TypeScript entry, as bin/rtap does for the process.
require('../scripts/quiet-warnings.cjs');
require('../core/kafkajs-preload.cjs');
require('tsx/cjs');
require('./stream-thread.ts');
