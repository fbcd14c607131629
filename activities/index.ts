// All activities of the batch layer, built from their dependencies in the worker.
import { createProbeActivities, type ProbeDeps } from './probe';

export type ActivityDeps = ProbeDeps;

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProbeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
