// The one errors module. Every rtap error says whether retrying can help (`retriable`) and keeps
// its `cause`, so retry loops and per-message outcomes decide from the type, not the message.

export class RtapError extends Error {
  readonly retriable: boolean;

  constructor(message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.retriable = options.retriable ?? false;
  }
}

/** Bad configuration: fatal at start-up, lists every problem found. */
export class ConfigError extends RtapError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A dependency (Kafka, Temporal, S3) could not be reached or answered badly; usually transient. */
export class DependencyError extends RtapError {
  constructor(
    readonly dependency: 'kafka' | 'temporal' | 's3' | 'duckdb',
    message: string,
    cause?: unknown,
  ) {
    super(`${dependency}: ${message}`, { retriable: true, cause });
  }
}

/** The local stack failed to provision or start a server. */
export class StackError extends RtapError {
  constructor(
    readonly service: string,
    message: string,
    readonly logTail?: string,
  ) {
    super(`${service}: ${message}${logTail ? `\n--- last lines of ${service} log ---\n${logTail}` : ''}`);
  }
}

/** Input that can never succeed as sent (validation, schema, limits). Never retried. */
export class InputError extends RtapError {
  constructor(
    message: string,
    readonly details: { path: string; reason: string }[] = [],
  ) {
    super(message, { retriable: false });
  }
}

export function isRetriable(err: unknown): boolean {
  return err instanceof RtapError ? err.retriable : false;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The message of the innermost cause: a Temporal activity or child failure wraps the real error as its cause. */
export function rootCauseMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e.cause === 'object' && e.cause !== null) e = e.cause as { message?: string; cause?: unknown };
  return e?.message ?? String(err);
}
