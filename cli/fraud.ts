// `rtap fraud`: the trained fraud model's lifecycle (docs/fraud.md "The trained model").
//   rtap fraud train            start the training workflow (workflows/fraud-training.ts) now and follow it
//   rtap fraud labels import    land a generated file's labels in the lake (labels/fraud/<name>.jsonl)
//   rtap fraud models           the champion pointer and the metrics of its versions
import { basename } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import { connectTemporal, workflowUiUrl } from '../core/batch-control';
import { config } from '../core/config';
import { generatorLabels, labelsFileKey } from '../core/fraud-model-labels';
import { readChampionPointer, readModelMetrics } from '../core/fraud-model-store';
import {
  DEFAULT_MAX_TRAINING_EVENTS,
  DEFAULT_TRAINING_DAYS,
  FRAUD_TRAINING_PROGRESS_QUERY,
  FRAUD_TRAINING_WORKFLOW,
  type FraudTrainingInput,
  type FraudTrainingProgress,
  type PublishModelResult,
  type TrainModelResult,
} from '../core/fraud-model-training';
import { parseHourBound } from '../core/hours';
import { createS3 } from '../core/s3';
import { algorithm } from './eval';
import { positiveInt } from './options';
import { followWorkflow, say } from './follow';

interface TrainFlags {
  days: number;
  maxEvents: number;
  from?: string;
  to?: string;
  algorithm: 'logistic' | 'forest';
  prefix: string;
  promote: boolean;
  wait: boolean;
  json?: boolean;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

export function describeTraining(p: FraudTrainingProgress): string {
  const r = p.result;
  const done = r ? `; ${r.events} events (${r.fraud} fraud), held-out AUC ${r.heldOut.auc.toFixed(4)}${r.champion ? ` vs champion ${r.champion.auc.toFixed(4)}` : ''}` : '';
  return `${p.phase}: version ${p.version}, events ${new Date(p.range.fromMs).toISOString()} .. ${new Date(p.range.toMs).toISOString()}${done}${p.error ? ` — ${p.error}` : ''}`;
}

function trainingInput(o: TrainFlags): FraudTrainingInput {
  const input: FraudTrainingInput = { prefix: o.prefix, algorithm: o.algorithm, maxEvents: o.maxEvents, ...(o.promote ? {} : { noPromote: true }) };
  if (o.from !== undefined || o.to !== undefined) {
    if (o.from === undefined || o.to === undefined) throw new InvalidArgumentError('--from and --to go together');
    try {
      input.range = { fromMs: parseHourBound(o.from, 'from'), toMs: parseHourBound(o.to, 'to') };
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
    if (!(input.range.fromMs < input.range.toMs)) throw new InvalidArgumentError('--from must be before --to');
  } else input.days = o.days;
  return input;
}

export function registerFraudCommands(program: Command): void {
  const fraud = program.command('fraud').description('the trained fraud model: training runs, labels, versions (docs/fraud.md)');

  fraud
    .command('train')
    .description(
      'train the fraud model now on the Temporal worker: raw events of the range from the lake with their labels (lake label files, analyst feedback), ' +
        'replayed through the scorer, trained, graded on the newest quarter; promoted to champion if it beats the current one there, else challenger. Follows progress until it ends',
    )
    .option('--days <n>', 'train on the last n days of events', positiveInt, DEFAULT_TRAINING_DAYS)
    .option('--from <when>', 'start of the event range instead: YYYY-MM-DD, YYYY-MM-DDTHH (UTC) or ISO-8601')
    .option('--to <when>', 'end of the range, exclusive, same forms')
    .option('--algorithm <name>', 'logistic or forest', algorithm, 'logistic' as const)
    .option('--max-events <n>', 'replay at most the newest n events of the range (bounds the worker\'s memory)', positiveInt, DEFAULT_MAX_TRAINING_EVENTS)
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .addOption(new Option('--no-promote', 'publish the new version as challenger even if it wins'))
    .addOption(new Option('--no-wait', 'start it and print its id, without following it'))
    .option('--json', 'print the final result as JSON')
    .action(async (o: TrainFlags) => {
      const input = trainingInput(o);
      const cfg = config();
      const temporal = await connectTemporal(cfg.temporal);
      try {
        const workflowId = `rtap-fraud-train-${Date.now()}`;
        const handle = await temporal.client.workflow.start(FRAUD_TRAINING_WORKFLOW, { taskQueue: cfg.temporal.taskQueue, workflowId, args: [input] });
        say(`started: fraud model training, workflow ${workflowId}`);
        say(`Temporal UI: ${workflowUiUrl(cfg.temporal.uiUrl, cfg.temporal.namespace, workflowId)}`);
        if (!o.wait) return;
        const { result, published } = await followWorkflow<FraudTrainingProgress, { result: TrainModelResult; published: PublishModelResult }>(handle, FRAUD_TRAINING_PROGRESS_QUERY, describeTraining);
        if (o.json) process.stdout.write(`${JSON.stringify({ result, published }, null, 2)}\n`);
        else {
          const h = result.heldOut;
          say(
            `done: version ${result.version} on ${result.events} events (${result.fraud} fraud; labels: ${result.labels.lake} from lake files, ${result.labels.feedback} from feedback), trained in ${(result.trainingMs / 1000).toFixed(1)} s`,
          );
          say(`held out: AUC ${h.auc.toFixed(4)}, at threshold ${h.threshold.toFixed(3)} precision ${pct(h.precision)}, recall ${pct(h.recall)}, FP ${pct(h.fprTransactions)} of legitimate transactions`);
          say(`${published.note}; champion ${published.champion}, challenger ${published.challenger ?? 'none'}`);
        }
      } finally {
        await temporal.close();
      }
    });

  fraud
    .command('labels')
    .description('ground truth for training')
    .command('import <events>')
    .description("land the labels of a generated ndjson file (its side file <events>.labels.ndjson, `rtap generate --to ndjson`) in the lake as labels/fraud/<name>.jsonl, joined to events by id")
    .option('--labels <path>', 'the side file (default: <events>.labels.ndjson)')
    .option('--name <name>', 'label file name in the lake (default: the events file name)')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .action(async (events: string, o: { labels?: string; name?: string; prefix: string }) => {
      const records = generatorLabels(events, o.labels);
      const name = o.name ?? basename(events).replace(/[^0-9A-Za-z_.-]/g, '_');
      const key = labelsFileKey(o.prefix, name);
      const cfg = config();
      const s3 = createS3(cfg.s3);
      try {
        await s3.send(new PutObjectCommand({ Bucket: cfg.s3.bucket, Key: key, Body: records.map((r) => JSON.stringify(r)).join('\n') + '\n', ContentType: 'application/x-ndjson' }));
      } finally {
        s3.destroy();
      }
      say(`${records.length} labels (${records.filter((r) => r.label === 'fraud').length} fraud) → s3://${cfg.s3.bucket}/${key}`);
    });

  fraud
    .command('models')
    .description('the champion pointer (models/fraud/champion.json) and the held-out metrics of the champion and the challenger')
    .option('--prefix <prefix>', "lake root prefix inside the bucket ('' = bucket root)", '')
    .option('--json', 'print as JSON')
    .action(async (o: { prefix: string; json?: boolean }) => {
      const cfg = config();
      const s3 = createS3(cfg.s3);
      try {
        const { pointer } = await readChampionPointer(s3, cfg.s3.bucket, o.prefix);
        if (!pointer) {
          say('no trained model yet: the scorer uses the hand-set weights (run `rtap fraud train`)');
          return;
        }
        const versions = [pointer.champion, ...(pointer.challenger ? [pointer.challenger] : [])];
        const metrics = await Promise.all(versions.map((v) => readModelMetrics(s3, cfg.s3.bucket, o.prefix, v)));
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ pointer, metrics: metrics.map((m) => m && { ...m, scoreHistogram: undefined }) }, null, 2)}\n`);
          return;
        }
        process.stdout.write(`champion ${pointer.champion}, challenger ${pointer.challenger ?? 'none'} (since ${pointer.updatedAt}: ${pointer.reason})\n`);
        versions.forEach((v, i) => {
          const m = metrics[i];
          if (!m) return void process.stdout.write(`${v}: no metrics.json\n`);
          const h = m.validation;
          process.stdout.write(
            `${v}: ${m.algorithm}, ${m.rows.train + m.rows.validation} events, held-out AUC ${h.auc.toFixed(4)}, threshold ${m.threshold.toFixed(3)}: precision ${pct(h.precision)}, recall ${pct(h.recall)}, FP ${pct(h.fprTransactions)} of legitimate transactions\n`,
          );
        });
      } finally {
        s3.destroy();
      }
    });
}
