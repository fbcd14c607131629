// `rtap eval fraud`: the fraud engine on labelled generator traffic, in-process (no stack needed).
// By default it trains the model on --seed's traffic (threshold picked on its held-out last
// quarter) and grades it on a different seed with a different tenant mix — the honest figure;
// --hand-set grades the hand-set weights instead, on both seeds (speed-layer/fraud/eval.ts,
// docs/fraud.md).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_EVAL, evaluate, evaluateTrained, formatReport, formatTrainedReport, type EvalOptions } from '../speed-layer/fraud/eval';
import { DEFAULT_TRAIN, type Algorithm } from '../speed-layer/fraud/model/train';
import { positiveInt } from './options';

interface EvalFlags {
  seed: number;
  unseenSeed?: number;
  events: number;
  tenants: number;
  users: number;
  unseenTenants?: number;
  unseenUsers?: number;
  rate: number;
  fraudRate: number;
  algorithm: Algorithm;
  handSet?: boolean;
  json?: boolean;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a share in (0, 1), got "${value}"`);
  return n;
}

export function algorithm(value: string): Algorithm {
  if (value !== 'logistic' && value !== 'forest') throw new InvalidArgumentError(`expected logistic or forest, got "${value}"`);
  return value;
}

export function registerEvalCommands(program: Command): void {
  const evalCmd = program.command('eval').description('offline evaluations on generated, labelled traffic');
  evalCmd
    .command('fraud')
    .description(
      "train the fraud model on --seed's labelled generator traffic (detectors + feature store, scored event by event as the speed layer does; threshold picked on the last quarter), " +
        'then grade it on an unseen seed with a different tenant mix: precision/recall/F1 per scenario and overall at each severity, FP rates, ROC AUC. --hand-set grades the hand-set weights instead',
    )
    .option('--seed <n>', 'seed of the training traffic', positiveInt, 1)
    .option('--unseen-seed <n>', 'seed of the held-out traffic (default: seed + 1000)', positiveInt)
    .option('--events <n>', 'generated events per run', positiveInt, DEFAULT_EVAL.events)
    .option('--tenants <n>', 'tenants in the training run', positiveInt, DEFAULT_EVAL.tenants)
    .option('--users <n>', 'users in the training run', positiveInt, DEFAULT_EVAL.users)
    .option('--unseen-tenants <n>', 'tenants in the held-out run (default: 1.5 × --tenants)', positiveInt)
    .option('--unseen-users <n>', 'users in the held-out run (default: 4/3 × --users)', positiveInt)
    .option('--rate <events/s>', 'nominal event rate (event-time spacing)', positiveInt, DEFAULT_EVAL.rate)
    .option('--fraud-rate <share>', 'share of events from fraud campaigns', share, DEFAULT_EVAL.fraudRate)
    .option('--algorithm <name>', 'model: logistic or forest (docs/fraud.md "Choice of library")', algorithm, 'logistic' as Algorithm)
    .option('--hand-set', 'grade the hand-set weights (no training) on --seed and on the unseen seed')
    .option('--json', 'print the reports as JSON')
    .action((o: EvalFlags) => {
      const base = { events: o.events, rate: o.rate, fraudRate: o.fraudRate };
      const seen: EvalOptions = { ...base, seed: o.seed, tenants: o.tenants, users: o.users };
      const unseen: EvalOptions = {
        ...base,
        seed: o.unseenSeed ?? o.seed + 1000,
        tenants: o.unseenTenants ?? Math.round(o.tenants * 1.5),
        users: o.unseenUsers ?? Math.round((o.users * 4) / 3),
      };
      if (unseen.seed === seen.seed) throw new InvalidArgumentError('--unseen-seed must differ from --seed');
      if (o.handSet) {
        const first = evaluate(seen);
        const second = evaluate(unseen);
        if (o.json) process.stdout.write(`${JSON.stringify({ seen: first, unseen: second }, null, 2)}\n`);
        else process.stdout.write(`${formatReport(first, 'Seed the parameters were looked at with')}\n\n${formatReport(second, 'Unseen seed, different tenant mix (the honest figure)')}\n`);
        return;
      }
      const progress = (msg: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
      const r = evaluateTrained(seen, unseen, { ...DEFAULT_TRAIN, algorithm: o.algorithm, seed: o.seed }, progress);
      if (o.json) process.stdout.write(`${JSON.stringify({ metrics: r.metrics, unseen: r.unseen, fallback: r.fallback }, null, 2)}\n`);
      else process.stdout.write(`${formatTrainedReport(r)}\n`);
    });
}
