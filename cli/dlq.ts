// `rtap dlq replay`: re-submit dead letters after a fix.
import { Command, Option } from 'commander';
import { config } from '../core/config';
import { ControlPlane } from '../core/control';
import { createIngestStep, resolvePiiKeyring } from '../core/ingest-step';
import { TOPICS, createKafka } from '../core/kafka';
import { createLogger } from '../core/logger';
import { replayDlq, senderResolver, type ReplayStats } from '../ingest/dlq-replay';

export function registerDlqCommands(program: Command): void {
  const dlq = program.command('dlq').description('dead-letter topic tools');
  dlq
    .command('replay')
    .description(
      're-validate dead letters with the current schema registry and tenants, each as the authenticated sender it was ' +
        'filed under (a revoked key\'s letters are not replayed); accepted ones go to `events`, still-invalid ones are ' +
        're-appended to the DLQ with their new reason (one Kafka transaction per batch)',
    )
    .option('--reason <code>', 'only letters rejected for this reason (e.g. unknown_tenant, schema_invalid)')
    .option('--dry-run', 'count what would happen; produce and commit nothing')
    .option('--group <id>', 'consumer group that remembers how far replays got', 'rtap-dlq-replay')
    .addOption(
      new Option('--legacy <mode>', 'letters written before sender attribution (their tenant may be the one the payload claimed): skip them, or replay them as a platform key')
        .choices(['skip', 'as-platform'])
        .default('skip'),
    )
    .action(async (opts: { reason?: string; dryRun?: boolean; group: string; legacy: 'skip' | 'as-platform' }) => {
      const cfg = config();
      const log = createLogger('dlq-replay');
      const kafka = createKafka(cfg.kafka);
      const control = new ControlPlane(kafka, log);
      await control.start();
      try {
        const step = createIngestStep({
          keyring: resolvePiiKeyring(cfg, log),
          isActiveTenant: (id) => control.state.activeTenant(id) !== undefined,
          source: 'replay',
          maxEventBytes: cfg.ingest.maxEventBytes,
        });
        const line = (s: ReplayStats) =>
          `scanned ${s.scanned}, replayed ${s.replayed}, still invalid ${s.stillInvalid}, skipped ${s.skipped}${s.legacy > 0 ? ` (${s.legacy} unattributed legacy letters)` : ''}`;
        const stats = await replayDlq(
          kafka,
          step,
          {
            dlqTopic: TOPICS.eventsDlq,
            eventsTopic: TOPICS.events,
            groupId: opts.group,
            reason: opts.reason,
            dryRun: opts.dryRun ?? false,
            resolveSender: senderResolver(control.state),
            legacy: opts.legacy,
            onProgress: (s) => process.stderr.write(`\r${line(s)}`),
          },
          log,
        );
        process.stderr.write('\n');
        process.stdout.write(`${opts.dryRun ? '[dry run] ' : ''}${line(stats)}\n`);
        if (stats.stillInvalid > 0) process.stdout.write(`still invalid by reason: ${JSON.stringify(stats.byReason)}\n`);
        if (stats.legacy > 0) {
          process.stdout.write(
            `${stats.legacy} letters predate sender attribution and were skipped; to replay them as a platform key, run again with --legacy as-platform and a new --group\n`,
          );
        }
      } finally {
        await control.stop();
      }
    });
}
