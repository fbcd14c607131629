// `rtap schema …`: the compatibility checker and a validator for NDJSON files.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { Command, InvalidArgumentError } from 'commander';
import { checkCompatibility, type CompatibilityReport } from './compat';
import type { JsonSchema } from './json-schemas';
import { isSchemaVersion, parseEvent, readEvent, SCHEMA_VERSIONS, schemaFor, UPCAST_BRIDGES } from './registry';

function schemaArg(value: string): JsonSchema {
  if (isSchemaVersion(value)) return schemaFor(value);
  if (!fs.existsSync(value)) throw new InvalidArgumentError(`"${value}" is neither a registered version (${SCHEMA_VERSIONS.join(', ')}) nor a JSON Schema file`);
  try {
    return JSON.parse(fs.readFileSync(value, 'utf8')) as JsonSchema;
  } catch (err) {
    throw new InvalidArgumentError(`${value} is not valid JSON: ${(err as Error).message}`);
  }
}

function printReport(name: string, r: CompatibilityReport): void {
  process.stdout.write(`${name}: ${r.compatible ? 'COMPATIBLE' : 'INCOMPATIBLE'}\n`);
  for (const c of r.breaking) process.stdout.write(`  ✗ ${c.path}  ${c.kind}: ${c.detail}\n`);
  for (const c of r.warnings) process.stdout.write(`  ! ${c.path}  ${c.kind}: ${c.detail}\n`);
  for (const c of r.safe) process.stdout.write(`  ✓ ${c.path}  ${c.kind}\n`);
}

export function registerSchemaCommands(program: Command): void {
  const schema = program.command('schema').description('the event schema registry: compatibility checks, validation, JSON Schemas');

  schema
    .command('check')
    .description(
      'check that a new schema is FULL-compatible with an old one (added optional fields pass; removed, retyped, newly required or no-longer-required fields fail). ' +
        'With no arguments, checks every pair of consecutive minor versions in the registry. Exit code 1 when incompatible.',
    )
    .argument('[old]', `old schema: a registered version (${SCHEMA_VERSIONS.join(', ')}) or a JSON Schema file`)
    .argument('[new]', 'new schema: a registered version or a JSON Schema file')
    .option('--json', 'machine-readable output')
    .action((oldArg: string | undefined, newArg: string | undefined, opts: { json?: boolean }) => {
      if ((oldArg === undefined) !== (newArg === undefined)) throw new InvalidArgumentError('give both <old> and <new>, or neither to check the whole registry');
      const pairs: [string, JsonSchema, JsonSchema][] = [];
      if (oldArg !== undefined && newArg !== undefined) {
        pairs.push([`${oldArg} → ${newArg}`, schemaArg(oldArg), schemaArg(newArg)]);
      } else {
        for (let i = 1; i < SCHEMA_VERSIONS.length; i++) {
          const [a, b] = [SCHEMA_VERSIONS[i - 1], SCHEMA_VERSIONS[i]];
          const bridge = UPCAST_BRIDGES[`${a} → ${b}`];
          if (bridge) {
            if (!opts.json) process.stdout.write(`${a} → ${b}: ${bridge}; read through the ${a} → ${b} upcaster (not checked for compatibility)\n`);
            continue;
          }
          pairs.push([`${a} → ${b}`, schemaFor(a), schemaFor(b)]);
        }
      }
      const reports = pairs.map(([name, a, b]) => ({ name, ...checkCompatibility(a, b) }));
      if (opts.json) process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
      else for (const r of reports) printReport(r.name, r);
      if (reports.some((r) => !r.compatible)) process.exitCode = 1;
    });

  schema
    .command('show')
    .description('print the JSON Schema of a registered version')
    .argument('<version>', SCHEMA_VERSIONS.join(' | '))
    .action((version: string) => {
      if (!isSchemaVersion(version)) throw new InvalidArgumentError(`unknown version "${version}" (known: ${SCHEMA_VERSIONS.join(', ')})`);
      process.stdout.write(`${JSON.stringify(schemaFor(version), null, 2)}\n`);
    });

  schema
    .command('validate')
    .description('validate an NDJSON file of events (any registered version) and print every violation with its JSON path, and every unknown descriptive value as a warning; exit code 1 when any line is invalid (warnings alone do not fail)')
    .argument('<file>', 'NDJSON file (one event per line), or a JSON file holding one event or an array of events')
    .option('-n, --max-errors <n>', 'invalid lines to print in full', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
      return n;
    }, 20)
    .action(async (file: string, opts: { maxErrors: number }) => {
      if (!fs.existsSync(file)) throw new InvalidArgumentError(`no such file: ${file}`);
      const lines = await eventTexts(file);
      let n = 0;
      let valid = 0;
      let warned = 0;
      const byCode: Record<string, number> = {};
      const byWarning: Record<string, number> = {};
      const byVersion: Record<string, number> = {};
      for await (const line of lines) {
        if (typeof line === 'string' && line.trim() === '') continue;
        n++;
        const r = typeof line === 'string' ? parseEvent(line) : readEvent(line.event);
        if (r.ok) {
          valid++;
          byVersion[r.sourceVersion] = (byVersion[r.sourceVersion] ?? 0) + 1;
          if (r.warnings.length > 0 && warned++ < opts.maxErrors) {
            process.stdout.write(`line ${n}: accepted with ${r.warnings.length} warning(s)\n`);
            for (const w of r.warnings) process.stdout.write(`    ${w.path}: ${JSON.stringify(w.value)} ${w.reason}\n`);
          }
          for (const w of r.warnings) byWarning[w.field] = (byWarning[w.field] ?? 0) + 1;
          continue;
        }
        byCode[r.reason.code] = (byCode[r.reason.code] ?? 0) + 1;
        if (n - valid <= opts.maxErrors) {
          process.stdout.write(`line ${n}: ${r.reason.message}\n`);
          for (const v of r.reason.violations) process.stdout.write(`    ${v.path}: ${v.reason}\n`);
        }
      }
      process.stdout.write(`${n} events: ${valid} valid (${JSON.stringify(byVersion)}), ${n - valid} invalid (${JSON.stringify(byCode)})\n`);
      if (warned > 0) process.stdout.write(`${warned} valid events carry unknown descriptive values (warnings, not errors): ${JSON.stringify(byWarning)}\n`);
      if (valid < n) process.exitCode = 1;
    });
}

/** Files up to this size are first tried as one JSON document (a pretty-printed event or array). */
const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

/** The events of a file: one text per NDJSON line, or the parsed events of a JSON document. */
async function eventTexts(file: string): Promise<AsyncIterable<string | { event: unknown }> | Iterable<{ event: unknown }>> {
  if (fs.statSync(file).size <= WHOLE_FILE_LIMIT) {
    const text = await fs.promises.readFile(file, 'utf8');
    if (/^\s*[[{]/.test(text)) {
      try {
        const doc: unknown = JSON.parse(text);
        return (Array.isArray(doc) ? doc : [doc]).map((event) => ({ event }));
      } catch {
        // Not one document: read it as NDJSON below.
      }
    }
  }
  return readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
}
