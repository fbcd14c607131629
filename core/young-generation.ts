// V8's young generation for our long-running processes and threads. They hold many objects for a
// few hundred ms (the API: parsed events until Kafka acknowledges them; the speed layer: each
// checkpoint's changelog records until its transaction commits), so with V8's default 16 MB
// semi-spaces those survive scavenges, get promoted, and the old generation grows fast: then every
// major GC marks the whole heap — for the speed layer its state, hundreds of MB. 64 MB semi-spaces
// let them die young:
// - API workers: parse + ingest step ~5 % less CPU per event (docs/ingestion.md, "Performance");
// - a speed-layer stream thread: 134 → 78–87 µs of CPU per event, 10.0k → 13.2–14.8k events/s
//   (bench/speed/instance.ts, 1 thread, 2026-11-28; perf put ~39 % of its CPU in concurrent
//   marking before), for ~100–200 MB more RSS.

/** Semi-space size, MB, unless node was told otherwise (execArgv or NODE_OPTIONS). */
export const SEMI_SPACE_MB = 64;

const SEMI_SPACE_FLAG = '--max-semi-space-size';

/** Whether node's own options already set the semi-space size (then they win). */
export function semiSpaceSet(execArgv: readonly string[], nodeOptions = ''): boolean {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => a.startsWith(SEMI_SPACE_FLAG));
}

/** execArgv for a child process (cluster worker): ours plus the semi-space size, unless set. */
export function childExecArgv(execArgv: readonly string[], nodeOptions = ''): string[] {
  return semiSpaceSet(execArgv, nodeOptions) ? [...execArgv] : [...execArgv, `${SEMI_SPACE_FLAG}=${SEMI_SPACE_MB}`];
}

/**
 * `resourceLimits` for a worker thread: V8's young generation is three semi-spaces (two for the
 * scavenger, one for large objects), so SEMI_SPACE_MB semi-spaces. Empty when node's options set
 * the size: a worker then inherits the process's V8 flags.
 */
export function workerResourceLimits(execArgv: readonly string[], nodeOptions = ''): { maxYoungGenerationSizeMb?: number } {
  return semiSpaceSet(execArgv, nodeOptions) ? {} : { maxYoungGenerationSizeMb: 3 * SEMI_SPACE_MB };
}
