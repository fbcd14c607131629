// `rtap eval fraud`: the fraud engine on labelled generator traffic, in-process (no stack needed),
// first on the seed its parameters were looked at with, then on a different seed with a different
// tenant mix — the honest figure (speed-layer/fraud/eval.ts, docs/fraud.md).
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_EVAL, evaluate, formatReport, type EvalOptions } from '../speed-layer/fraud/eval';
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
  json?: boolean;
}

function share(value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new InvalidArgumentError(`expected a share in (0, 1), got "${value}"`);
  return n;
}

export function registerEvalCommands(program: Command): void {
  const evalCmd = program.command('eval').description('offline evaluations on generated, labelled traffic');
  evalCmd
    .command('fraud')
    .description(
      'score labelled generator traffic with the fraud detectors + ensemble in-process (feature store updated event by event, as the speed layer does); ' +
        'report precision/recall/F1 per scenario and overall at each severity, FP rates and ROC AUC, on --seed and then on an unseen seed with a different tenant mix',
    )
    .option('--seed <n>', 'seed of the traffic the parameters were looked at with', positiveInt, 1)
    .option('--unseen-seed <n>', 'seed of the held-out traffic (default: seed + 1000)', positiveInt)
    .option('--events <n>', 'generated events per run', positiveInt, DEFAULT_EVAL.events)
    .option('--tenants <n>', 'tenants in the first run', positiveInt, DEFAULT_EVAL.tenants)
    .option('--users <n>', 'users in the first run', positiveInt, DEFAULT_EVAL.users)
    .option('--unseen-tenants <n>', 'tenants in the held-out run (default: 1.5 × --tenants)', positiveInt)
    .option('--unseen-users <n>', 'users in the held-out run (default: 4/3 × --users)', positiveInt)
    .option('--rate <events/s>', 'nominal event rate (event-time spacing)', positiveInt, DEFAULT_EVAL.rate)
    .option('--fraud-rate <share>', 'share of events from fraud campaigns', share, DEFAULT_EVAL.fraudRate)
    .option('--json', 'print both reports as JSON')
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
      const first = evaluate(seen);
      const second = evaluate(unseen);
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ seen: first, unseen: second }, null, 2)}\n`);
        return;
      }
      process.stdout.write(`${formatReport(first, 'Seed the parameters were looked at with')}\n\n${formatReport(second, 'Unseen seed, different tenant mix (the honest figure)')}\n`);
    });
}
