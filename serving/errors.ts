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
