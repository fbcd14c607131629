// One error body for every API response: `{ error, message, details? }`, details being
// `{ path, reason }` items that point at the offending field.
import type { Response } from 'express';

export interface ErrorDetail {
  path: string;
  reason: string;
}

export function sendError(res: Response, status: number, error: string, message: string, details?: ErrorDetail[]): void {
  res.status(status).json(details ? { error, message, details } : { error, message });
}

/** Error codes of the body reader's (body-parser / raw-body) failures, by their `type`. */
const BODY_ERRORS: Record<string, string> = {
  'entity.too.large': 'payload_too_large',
  'encoding.unsupported': 'unsupported_encoding',
  'charset.unsupported': 'unsupported_charset',
  'request.aborted': 'request_aborted',
  'request.size.invalid': 'invalid_content_length',
  'stream.encoding.set': 'bad_request',
  'stream.not.readable': 'bad_request',
};

/**
 * What to answer for an error that is the client's doing (a 4xx status on it, as body-parser and
 * http-errors set), or undefined for anything else: those are answered with a generic 500 by the
 * app's final handler, so no stack, path or internal message ever reaches a client. The message of
 * a 4xx is the library's own short text (e.g. "incorrect header check"), clipped.
 * `encoded`: the request carried a Content-Encoding, so a stream error means the encoding is broken.
 */
export function clientError(err: unknown, encoded = false): { status: number; error: string; message: string } | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown; limit?: unknown; length?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  if (status === undefined || status < 400 || status > 499) return undefined;
  const type = typeof e.type === 'string' ? e.type : undefined;
  const text = typeof e.message === 'string' ? (e.message.length > 200 ? `${e.message.slice(0, 200)}…` : e.message) : 'bad request';
  if (type === 'entity.too.large') {
    return { status: 413, error: 'payload_too_large', message: `request body of ${String(e.length)} bytes exceeds the limit of ${String(e.limit)} bytes (INGEST_MAX_BYTES)` };
  }
  if (type && BODY_ERRORS[type]) return { status, error: BODY_ERRORS[type], message: text };
  if (encoded && type === undefined) {
    return { status: 400, error: 'invalid_content_encoding', message: `the body could not be decoded with its Content-Encoding: ${text}` };
  }
  return { status, error: 'bad_request', message: text };
}
