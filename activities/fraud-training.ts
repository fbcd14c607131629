// The fraud model's training run, as activities of the batch worker (workflows/fraud-training.ts):
//   trainFraudModel: the raw events of a time range (DuckDB over the lake's Parquet, `event_json`
//     in event-time order) joined with the lake's label files, analyst feedback from the control
//     topic on top; replayed through the scorer exactly as the speed layer scores (feature store,
//     memory, detectors) to get each event's feature vector; trained, thresholded and graded on the
//     newest quarter (held out); the current champion graded on the same slice; the version written.
//   publishFraudModel: moves `models/fraud/champion.json` with a conditional PUT — the new version
//     becomes champion only if it beat the champion it was compared with (and that one is still
//     the champion), else challenger.
import { ApplicationFailure, cancellationSignal, heartbeat } from '@temporalio/activity';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DuckDBInstance } from '@duckdb/node-api';
import { s3Url, sqlLiteral } from '../core/duckdb';
import { errorMessage, RtapError } from '../core/errors';
import type { FraudFeedback } from '../core/fraud-feedback';
import { listLabelFiles } from '../core/fraud-model-labels';
import { publishChampionPointer, readChampionPointer, readModel, writeModelVersion, type ChampionPointer } from '../core/fraud-model-store';
import type { FraudTrainingActivities, PublishModelInput, PublishModelResult, TrainModelInput, TrainModelResult } from '../core/fraud-model-training';
import { normalizePrefix, rawEventsRelation, rawRoot } from '../core/lake';
import { aucOf, DEFAULT_TARGETS, fitModel, type LabelledEvent } from '../speed-layer/fraud/model/fit';
import { createScoringReplay } from '../speed-layer/fraud/model/replay';
import { DEFAULT_TRAIN } from '../speed-layer/fraud/model/train';

export interface FraudTrainingDeps {
  s3: S3Client;
  bucket: string;
  lake: DuckDBInstance;
  /** Analyst feedback (core/fraud-feedback.ts readFraudFeedback); none when absent. */
  fraudFeedback?: () => Promise<FraudFeedback[]>;
}

const HEARTBEAT_EVERY_EVENTS = 5_000;
const PUBLISH_ATTEMPTS = 3;

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The raw events of [fromUs, toUs) (a relation over the raw Parquet, pruned by the dt directories). */
function rangeSql(rawGlob: string, fromUs: number, toUs: number): string {
  return `SELECT tenant_id, event_id, event_time, event_json FROM ${rawEventsRelation(rawGlob)}
  WHERE dt BETWEEN ${sqlLiteral(isoDay(fromUs / 1000))} AND ${sqlLiteral(isoDay((toUs - 1) / 1000))}
    AND event_time >= make_timestamp(${Math.floor(fromUs)}::BIGINT) AND event_time < make_timestamp(${Math.floor(toUs)}::BIGINT)`;
}

/** The event time (µs) of the `maxEvents`-th newest event of the range: where a capped run starts. */
export function capStartSql(rawGlob: string, fromUs: number, toUs: number, maxEvents: number): string {
  return `SELECT epoch_us(min(event_time))::BIGINT AS start_us, (SELECT count(*) FROM (${rangeSql(rawGlob, fromUs, toUs)}))::BIGINT AS total
FROM (SELECT event_time FROM (${rangeSql(rawGlob, fromUs, toUs)}) ORDER BY event_time DESC LIMIT ${maxEvents})`;
}

/** Raw events of [fromUs, toUs) with the latest lake label of each, in event-time order. */
export function trainingEventsSql(rawGlob: string, labelUrls: readonly string[], fromUs: number, toUs: number): string {
  const labels = labelUrls.length
    ? `SELECT tenant_id, event_id, arg_max(label, "at") AS label FROM read_json([${labelUrls.map(sqlLiteral).join(', ')}], format = 'newline_delimited',
      columns = {'tenant_id': 'VARCHAR', 'event_id': 'VARCHAR', 'label': 'VARCHAR', 'at': 'VARCHAR'}) GROUP BY tenant_id, event_id`
    : `SELECT NULL::VARCHAR AS tenant_id, NULL::VARCHAR AS event_id, NULL::VARCHAR AS label WHERE false`;
  return `WITH ev AS (${rangeSql(rawGlob, fromUs, toUs)}), lb AS (${labels})
SELECT ev.tenant_id, ev.event_id, ev.event_json, lb.label FROM ev LEFT JOIN lb USING (tenant_id, event_id)
ORDER BY ev.event_time, ev.event_id`;
}

export function createFraudTrainingActivities(deps: FraudTrainingDeps): FraudTrainingActivities {
  const { s3, bucket, lake } = deps;

  async function labelledEvents(input: TrainModelInput, beat: (p: unknown) => void): Promise<{ rows: LabelledEvent[]; labels: TrainModelResult['labels']; fromMs: number }> {
    const labelKeys = await listLabelFiles(s3, bucket, input.prefix);
    const feedback = new Map<string, 'fraud' | 'legit'>();
    for (const f of (await deps.fraudFeedback?.()) ?? []) feedback.set(`${f.tenant_id}\u0000${f.event_id}`, f.label);
    const conn = await lake.connect();
    const interrupt = () => conn.interrupt();
    cancellationSignal().addEventListener('abort', interrupt);
    const replay = createScoringReplay({ keepFeatures: true });
    const rows: LabelledEvent[] = [];
    let lakeLabels = 0;
    let feedbackLabels = 0;
    let fromUs = input.fromMs * 1000;
    const toUs = input.toMs * 1000;
    try {
      const rawGlob = s3Url(bucket, `${rawRoot(input.prefix)}dt=*/hour=*/p=*/*.parquet`);
      let result;
      try {
        beat({ step: 'counting events' });
        const [cap] = (await conn.runAndReadAll(capStartSql(rawGlob, fromUs, toUs, input.maxEvents))).getRowObjectsJS() as { start_us: bigint | null; total: bigint }[];
        // more events than the cap: start at the cap-th newest (the earlier ones are not replayed)
        if (cap && Number(cap.total) > input.maxEvents && cap.start_us !== null) fromUs = Number(cap.start_us);
        result = await conn.stream(trainingEventsSql(rawGlob, labelKeys.map((k) => s3Url(bucket, k)), fromUs, toUs));
      } catch (err) {
        if (/no files found/i.test(errorMessage(err))) throw ApplicationFailure.nonRetryable(`no raw events under s3://${bucket}/${normalizePrefix(input.prefix)}raw/`, 'NoTrainingData');
        throw err;
      }
      let offset = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        for (const [tenant, eventId, json, label] of chunk.getRows() as [string, string, string | null, string | null][]) {
          const i = offset++;
          if (i % HEARTBEAT_EVERY_EVENTS === 0) beat({ step: 'replaying events', events: i, labelled: rows.length });
          if (json === null) continue;
          let parsed: unknown;
          try {
            parsed = JSON.parse(json);
          } catch {
            continue;
          }
          const out = replay.next(parsed, i);
          if (out.kind !== 'scored') continue;
          const fb = feedback.get(`${tenant}\u0000${eventId}`);
          if (fb) feedbackLabels++;
          else if (label !== null) lakeLabels++;
          const l = fb ?? label;
          // unlabelled events count as legitimate: label files list fraud (and the generator's every event)
          rows.push({ x: out.verdict.features!, fraud: l === 'fraud', transaction: out.view.type === 'transaction', timeUs: out.view.timeUs });
        }
      }
    } finally {
      cancellationSignal().removeEventListener('abort', interrupt);
      conn.closeSync();
    }
    return { rows, labels: { lake: lakeLabels, feedback: feedbackLabels }, fromMs: Math.floor(fromUs / 1000) };
  }

  return {
    async trainFraudModel(input) {
      try {
        let last: unknown = { step: 'reading labels' };
        const beat = (p: unknown) => {
          last = p;
          heartbeat(p);
        };
        const ticker = setInterval(() => heartbeat(last), 20_000);
        try {
          const { rows, labels, fromMs } = await labelledEvents(input, beat);
          const fraud = rows.filter((r) => r.fraud).length;
          if (fraud === 0) throw ApplicationFailure.nonRetryable(`no fraud labels among ${rows.length} events of the range: nothing to learn from (import labels: rtap fraud labels import)`, 'NoTrainingData');
          beat({ step: 'training', events: rows.length, fraud });
          let fit;
          try {
            fit = fitModel(rows, {
              train: { ...DEFAULT_TRAIN, algorithm: input.algorithm, seed: 1 },
              targets: DEFAULT_TARGETS,
              version: input.version,
              source: { from: new Date(fromMs).toISOString(), to: new Date(input.toMs).toISOString(), events: rows.length, fraud, lake_labels: labels.lake, feedback_labels: labels.feedback },
              trainedAt: input.trainedAt,
            });
          } catch (err) {
            if (err instanceof RangeError) throw ApplicationFailure.nonRetryable(err.message, 'NoTrainingData');
            throw err;
          }
          beat({ step: 'grading the champion', events: rows.length });
          const { pointer } = await readChampionPointer(s3, bucket, input.prefix);
          let champion: TrainModelResult['champion'] = null;
          if (pointer) {
            try {
              const current = await readModel(s3, bucket, input.prefix, pointer.champion);
              champion = { version: current.version, auc: aucOf(current.probability, fit.heldOut) };
            } catch (err) {
              // a champion this scorer cannot read (other features) cannot be compared: it loses
              champion = { version: pointer.champion, auc: -1 };
              beat({ step: 'champion unreadable', error: errorMessage(err) });
            }
          }
          await writeModelVersion(s3, bucket, input.prefix, fit.doc, fit.metrics);
          const v = fit.metrics.validation;
          return {
            version: input.version,
            events: rows.length,
            fromMs,
            fraud,
            labels,
            heldOut: { auc: v.auc, precision: v.precision, recall: v.recall, fprTransactions: v.fprTransactions, threshold: fit.metrics.threshold },
            champion,
            trainingMs: fit.metrics.trainingMs,
          };
        } finally {
          clearInterval(ticker);
        }
      } catch (err) {
        // rtap errors say whether a retry can help (an unreadable model, a version that exists: no)
        if (err instanceof RtapError) throw err.retriable ? ApplicationFailure.retryable(err.message, err.name) : ApplicationFailure.nonRetryable(err.message, err.name);
        throw err;
      }
    },

    async publishFraudModel(input: PublishModelInput): Promise<PublishModelResult> {
      for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS; attempt++) {
        const { pointer, etag } = await readChampionPointer(s3, bucket, input.prefix);
        const stillCompared = (pointer?.champion ?? null) === input.comparedWith;
        const promote = input.promote && stillCompared;
        const next: ChampionPointer = promote || !pointer
          ? { format: 1, champion: input.version, challenger: pointer?.champion ?? null, updatedAt: input.at, reason: input.reason }
          : { ...pointer, challenger: input.version, updatedAt: input.at, reason: input.reason };
        if (await publishChampionPointer(s3, bucket, input.prefix, next, etag)) {
          const note = promote || !pointer ? `${input.version} is champion` : `${input.version} is challenger${input.promote && !stillCompared ? ' (the champion changed during training: not promoted)' : ''}`;
          return { champion: next.champion, challenger: next.challenger, promoted: next.champion === input.version, note };
        }
      }
      throw ApplicationFailure.retryable(`models/fraud/champion.json kept changing during ${PUBLISH_ATTEMPTS} attempts`, 'PublishConflict');
    },
  };
}
