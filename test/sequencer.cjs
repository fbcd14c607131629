// Test order: jest's own (slowest and previously failed first), except that suites which measure
// the process itself (event-loop stalls, heap growth) run first. `npm test` runs every suite in
// one process (--runInBand), and what earlier suites leave on the heap is collected later, in
// whatever suite is running then: a 400 MB collection charged to the fuzz run as a 500 ms stall
// the API did not cause.
const Sequencer = require('@jest/test-sequencer').default;

const MEASURES_THE_PROCESS = [/ingest-fuzz\.integration\.test\.ts$/];

class RtapSequencer extends Sequencer {
  sort(tests) {
    const ordered = super.sort(tests);
    const first = ordered.filter((t) => MEASURES_THE_PROCESS.some((re) => re.test(t.path)));
    return [...first, ...ordered.filter((t) => !first.includes(t))];
  }
}

module.exports = RtapSequencer;
