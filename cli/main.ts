// `rtap`: the one command-line entry point. Every subcommand has --help.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { runWorker } from '../activities/worker';
import { REPO_ROOT, config } from '../core/config';
import { ConfigError, RtapError } from '../core/errors';
import { waitUntil } from '../core/retry';
import { registerGeneratorCommands } from '../generator/cli';
import { registerSinkCommands } from '../ingest/cli';
import { runApi } from '../serving/main';
import { registerSpeedCommands } from '../speed-layer/cli';
import type { ServiceName } from '../stack/services';
import { describeAll, down, logFile, logs, status, up } from '../stack/stack';
import { DEFAULT_OFFSET_BUCKET_SIZE } from '../core/measures';
import { registerBatchCommands } from './batch';
import { registerControlCommands } from './control';
import { prepareDemo } from './demo';
import { registerDlqCommands } from './dlq';
import { auditCliFailure, installCliAudit, registerAuditCommands } from './audit';
import { registerLimitsCommands } from './limits';
import { registerEvalCommands } from './eval';
import { registerFraudCommands } from './fraud';
import { registerGdprCommands } from './gdpr';
import { registerSqlCommands } from './sql';
import { positiveInt } from './options';
import { say } from './follow';

const SERVICES: ServiceName[] = ['kafka', 'temporal', 'minio'];

function printWhere(): void {
  for (const { name, where } of describeAll(config())) {
    process.stdout.write(`  ${name.padEnd(9)} ${where.join('\n            ')}\n`);
  }
}

const program = new Command()
  .name('rtap')
  .description('rtap: real-time analytics and fraud platform (Kafka speed layer, Temporal + DuckDB batch layer, express API)')
  .showHelpAfterError();

program
  .command('up')
  .description('provision (first run only) and start the local stack: Kafka, Temporal dev server + Web UI, MinIO; create topics and bucket')
  .option('-q, --quiet', 'print only errors and the final summary')
  .action(async (opts: { quiet?: boolean }) => {
    const started = Date.now();
    const result = await up(config(), opts.quiet ? () => undefined : say);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    const changes = [
      result.started.length ? `started ${result.started.join(', ')}` : '',
      result.alreadyRunning.length ? `already running: ${result.alreadyRunning.join(', ')}` : '',
      result.createdTopics.length ? `created topics ${result.createdTopics.join(', ')}` : '',
      result.createdBucket ? `created bucket ${config().s3.bucket}` : '',
    ].filter(Boolean);
    process.stdout.write(`rtap stack is up (${secs}s): ${changes.join('; ') || 'nothing to do'}\n`);
    printWhere();
  });

program
  .command('down')
  .description('stop the local stack servers this checkout started (data is kept in the data dir)')
  .argument('[services...]', `subset to stop: ${SERVICES.join(', ')}`)
  .action(async (services: string[]) => {
    const only = services.length ? parseServices(services) : undefined;
    await down(config(), say, only);
  });

program
  .command('status')
  .description('health of each server (exit code 1 when any is down)')
  .option('--json', 'machine-readable output')
  .action(async (opts: { json?: boolean }) => {
    const statuses = await status(config());
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(statuses, null, 2)}\n`);
    } else {
      for (const s of statuses) {
        const state = s.health.healthy ? 'healthy' : 'DOWN';
        const owner = s.managed ? (s.pid ? `pid ${s.pid}` : 'no process of ours') : 'external';
        process.stdout.write(`${s.name.padEnd(9)} ${state.padEnd(8)} ${owner.padEnd(18)} ${s.health.detail}\n`);
        for (const w of s.where) process.stdout.write(`${' '.repeat(37)}${w}\n`);
      }
    }
    if (statuses.some((s) => !s.health.healthy)) process.exitCode = 1;
  });

program
  .command('logs')
  .description('show the log of a local server')
  .argument('<service>', SERVICES.join(' | '))
  .option('-n, --lines <n>', 'number of lines', positiveInt, 50)
  .option('-f, --follow', 'keep printing new lines (Ctrl-C to stop)')
  .action(async (service: string, opts: { lines: number; follow?: boolean }) => {
    const [name] = parseServices([service]);
    process.stdout.write(`${logs(config(), name, opts.lines)}\n`);
    if (opts.follow) await follow(logFile(config(), name));
  });

program
  .command('worker')
  .description('run the Temporal worker (batch-layer workflows and activities) in the foreground; creates or updates the batch schedules (docs/batch-layer.md)')
  .addOption(new Option('--no-schedules', 'leave the Temporal schedules alone (e.g. a second worker)'))
  .option('--prefix <prefix>', "lake root prefix the scheduled runs work on ('' = bucket root)", '')
  .option('--offset-bucket-size <n>', "offsets per bucket of the cut; must equal the speed layer's --offset-bucket-size", positiveInt, DEFAULT_OFFSET_BUCKET_SIZE)
  .action(async (opts: { schedules: boolean; prefix: string; offsetBucketSize: number }) => {
    await runWorker({ schedules: opts.schedules, prefix: opts.prefix, offsetBucketSize: opts.offsetBucketSize });
  });

program
  .command('api')
  .description('run the REST API in the foreground: API_WORKERS processes (default min(2, cores)) sharing API_PORT')
  .action(async () => {
    await runApi();
  });

program
  .command('start')
  .description(
    'start the whole platform locally: the stack (rtap up), the worker, the API, the lake sink, the speed layer, and demo traffic ' +
      'from the generator through the API; Ctrl-C stops the processes, `rtap down` the stack',
  )
  .addOption(new Option('--no-stack', 'do not run `rtap up` first (services already running or external)'))
  .addOption(new Option('--no-demo', 'no demo traffic'))
  .option('--demo-rate <events/s>', 'demo traffic rate', positiveInt, 200)
  .option('--demo-tenants <n>', 'tenants in the demo traffic', positiveInt, 200)
  .action(async (opts: { stack: boolean; demo: boolean; demoRate: number; demoTenants: number }) => {
    const cfg = config();
    if (opts.stack) {
      await up(cfg, say);
      printWhere();
    }
    const children = ['worker', 'api', 'sink', 'speed'].map((role) => startRole(role, [role]));
    const apiUrl = `http://${cfg.api.host}:${cfg.api.port}`;
    if (opts.demo) {
      const seed = 7;
      const { apiKey, tenants, dashboardTenant, dashboardKeyFile } = await prepareDemo(cfg, { tenants: opts.demoTenants, seed });
      if (!(await waitUntil(async () => (await fetch(`${apiUrl}/healthz`)).ok, 60000))) throw new RtapError(`the API did not answer at ${apiUrl} within 60 s`);
      say(`demo traffic: ${opts.demoRate} events/s for ${tenants} tenants through ${apiUrl}/api/v2/events/batch`);
      // event times from now, so the live views (the last hour, the dashboard) hold the demo traffic
      const generatorArgs = ['generate', '--to', 'http', '--url', apiUrl, '--rate', String(opts.demoRate), '--duration', '720h', '--tenants', String(opts.demoTenants), '--seed', String(seed), '--start', new Date().toISOString(), '--quiet'];
      children.push(startRole('demo', generatorArgs, { RTAP_API_KEY: apiKey }));
      say(`live dashboard: ${apiUrl}/dashboard — paste the viewer key of tenant ${dashboardTenant} kept in ${dashboardKeyFile}`);
    }
    say(`platform running: API ${apiUrl} (health: /api/v2/ops/health/detailed, metrics: /metrics), metrics of the speed layer http://${cfg.speed.metricsHost}:${cfg.speed.metricsPort}/metrics, the sink http://${cfg.sink.metricsHost}:${cfg.sink.metricsPort}/metrics and the worker http://${cfg.worker.metricsHost}:${cfg.worker.metricsPort}/metrics, Temporal UI ${cfg.temporal.uiUrl}; Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        say('stopping the platform processes…');
        for (const c of children) c.kill('SIGTERM');
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      let exited = 0;
      for (const c of children) {
        c.on('exit', (code) => {
          if (!stopping && code !== 0) {
            say(`a platform process exited with ${code}; stopping the others`);
            process.exitCode = 1;
            stop();
          }
          if (++exited === children.length) resolve();
        });
      }
    });
  });

function startRole(role: string, args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'rtap'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter(Boolean)
      .map((line) => `[${role}] ${line}\n`)
      .join('');
  child.stdout?.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
  child.stderr?.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
  return child;
}

function parseServices(names: string[]): ServiceName[] {
  return names.map((n) => {
    if (!(SERVICES as string[]).includes(n)) throw new InvalidArgumentError(`unknown service "${n}" (expected ${SERVICES.join(', ')})`);
    return n as ServiceName;
  });
}

async function follow(file: string): Promise<void> {
  let position = fs.existsSync(file) ? fs.statSync(file).size : 0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const size = fs.existsSync(file) ? fs.statSync(file).size : 0;
    if (size > position) {
      const fd = fs.openSync(file, 'r');
      const buffer = Buffer.alloc(size - position);
      fs.readSync(fd, buffer, 0, buffer.length, position);
      fs.closeSync(fd);
      process.stdout.write(buffer);
      position = size;
    }
  }
}

registerSinkCommands(program);
registerBatchCommands(program);
registerGdprCommands(program);
registerSqlCommands(program);
registerSpeedCommands(program);

registerControlCommands(program);
registerLimitsCommands(program);
registerAuditCommands(program);
// keys, tenants, limits, gdpr and audit invocations are appended to the audit log (cli/audit.ts)
installCliAudit(program);
registerDlqCommands(program);
registerEvalCommands(program);
registerFraudCommands(program);

registerGeneratorCommands(program);

export async function main(argv: string[]): Promise<void> {
  try {
    await program.parseAsync(argv);
  } catch (err) {
    await auditCliFailure(err).catch((e: unknown) => say(`the failure could not be audited: ${(e as Error).message}`));
    if (err instanceof ConfigError) {
      say(err.message);
      process.exit(2);
    }
    if (err instanceof InvalidArgumentError) {
      say(err.message);
      process.exit(2);
    }
    say(err instanceof RtapError ? err.message : String((err as Error)?.stack ?? err));
    process.exit(1);
  }
}

if (require.main === module) void main(process.argv);
