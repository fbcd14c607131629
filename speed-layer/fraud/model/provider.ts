// The speed layer's source of trained models: polls `models/fraud/champion.json`, loads the
// champion and challenger versions it names, and swaps them in without a restart (the next event
// is scored with the new model; a half-loaded pair is never visible: both are read, validated and
// compiled before the swap). A failed poll keeps the models in use. Each model's live scores are
// compared with its training-time score histogram (metrics.json) into a drift PSI per role.
//
// Use: `const models = createFraudModelProvider({ load: lakeModelLoader(s3, bucket, prefix) });
// await models.start(); createFraudEngine({ models })`; `stop()` on shutdown.
import type { S3Client } from '@aws-sdk/client-s3';
import { readChampionPointer, readModel, readModelMetrics, type ChampionPointer } from '../../../core/fraud-model-store';
import { errorMessage } from '../../../core/errors';
import type { FraudModelSource, ModelScore } from '../engine';
import { createDriftMonitor, type DriftMonitor } from './drift';
import { modelMetrics } from './metrics';
import type { FraudModel } from './model';

export type ModelRole = 'champion' | 'challenger';

/** What one poll found: the pointer, and a way to load a version with its reference histogram. */
export interface ModelLoader {
  pointer(): Promise<ChampionPointer | undefined>;
  load(version: string): Promise<{ model: FraudModel; reference: number[] | undefined }>;
}

export interface FraudModelProvider extends FraudModelSource {
  /** First poll (awaited), then one every `intervalMs`. */
  start(): Promise<void>;
  stop(): void;
  /** One poll now; true when the loaded pair changed. */
  refresh(): Promise<boolean>;
  /** Drift PSI per role (0 until enough scores), and the versions in use. */
  status(): { champion: string | null; challenger: string | null; drift: Record<ModelRole, number>; lastError: string | null };
}

export interface ProviderOptions {
  load: ModelLoader;
  /** Poll period. Default 30 s. */
  intervalMs?: number;
  /** Scores before the drift PSI is reported. Default 500. */
  driftMinCount?: number;
  onError?: (err: unknown) => void;
}

/** A loader over the lake (core/fraud-model-store.ts). */
export function lakeModelLoader(s3: S3Client, bucket: string, prefix: string): ModelLoader {
  return {
    pointer: async () => (await readChampionPointer(s3, bucket, prefix)).pointer,
    async load(version) {
      const [model, metrics] = await Promise.all([readModel(s3, bucket, prefix, version), readModelMetrics(s3, bucket, prefix, version)]);
      return { model, reference: metrics?.scoreHistogram };
    },
  };
}

interface Slot {
  model: FraudModel;
  drift: DriftMonitor | null;
}

export function createFraudModelProvider(o: ProviderOptions): FraudModelProvider {
  const slots: Record<ModelRole, Slot | null> = { champion: null, challenger: null };
  let timer: NodeJS.Timeout | undefined;
  let lastError: string | null = null;
  let polling: Promise<boolean> | undefined;

  async function slotFor(version: string | null, current: Slot | null): Promise<Slot | null> {
    if (version === null) return null;
    if (current?.model.version === version) return current;
    const { model, reference } = await o.load.load(version);
    return { model, drift: reference ? createDriftMonitor(reference, o.driftMinCount) : null };
  }

  function publish(): void {
    modelMetrics.loaded.reset();
    for (const role of ['champion', 'challenger'] as const) {
      const s = slots[role];
      if (s) modelMetrics.loaded.set({ role, version: s.model.version }, 1);
      modelMetrics.drift.set({ role }, 0);
    }
  }

  async function poll(): Promise<boolean> {
    try {
      const p = await o.load.pointer();
      if (!p) {
        modelMetrics.loads.inc({ outcome: 'none' });
        return false;
      }
      const champion = await slotFor(p.champion, slots.champion);
      const challenger = p.challenger === p.champion ? null : await slotFor(p.challenger, slots.challenger);
      const changed = champion !== slots.champion || challenger !== slots.challenger;
      // both loaded before either is visible
      slots.champion = champion;
      slots.challenger = challenger;
      lastError = null;
      if (changed) publish();
      modelMetrics.loads.inc({ outcome: changed ? 'swapped' : 'unchanged' });
      return changed;
    } catch (err) {
      lastError = errorMessage(err);
      modelMetrics.loads.inc({ outcome: 'error' });
      o.onError?.(err);
      return false;
    }
  }

  // polls never overlap: a slow one makes the next wait
  const refresh = () => (polling ??= poll().finally(() => (polling = undefined)));

  return {
    current: () => ({ champion: slots.champion?.model ?? null, challenger: slots.challenger?.model ?? null }),
    record(role: ModelRole, s: ModelScore) {
      const slot = slots[role];
      if (!slot?.drift || slot.model.version !== s.version) return;
      slot.drift.observe(s.probability);
      // the gauge every 256 scores: PSI over 11 bins is cheap, but not per event
      if (slot.drift.count % 256 === 0) modelMetrics.drift.set({ role }, slot.drift.value());
    },
    async start() {
      await refresh();
      timer = setInterval(() => void refresh(), o.intervalMs ?? 30_000);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    refresh,
    status: () => ({
      champion: slots.champion?.model.version ?? null,
      challenger: slots.challenger?.model.version ?? null,
      drift: { champion: slots.champion?.drift?.value() ?? 0, challenger: slots.challenger?.drift?.value() ?? 0 },
      lastError,
    }),
  };
}
