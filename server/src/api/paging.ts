/**
 * `?limit=&offset=` paging for list endpoints: limit 1–200 (default 50), offset ≥ 0.
 */
import { Errors } from '../errors';

export interface Paging {
  limit: number;
  offset: number;
}

export function parsePaging(query: Record<string, unknown>): Paging {
  const num = (name: string, raw: unknown, def: number, min: number, max: number): number => {
    if (raw === undefined || raw === '') return def;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw Errors.VALIDATION(`"${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return n;
  };
  return { limit: num('limit', query.limit, 50, 1, 200), offset: num('offset', query.offset, 0, 0, Number.MAX_SAFE_INTEGER) };
}
