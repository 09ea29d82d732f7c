/**
 * One page of a listing plus the total the API reports next to it (`{items, total}`), in
 * two portable statements. The conditions and their `$n` parameters come first; the page's
 * LIMIT and OFFSET are numbered after them.
 */
import type { ISqlDatabase } from './database';

export interface PageQuery {
  /** `SELECT … FROM <table> <alias> [JOIN …]`: the rows of the page. */
  select: string;
  /** `<table> <alias>`: what the total counts (the joins do not change it). */
  countFrom: string;
  /** `WHERE …` (or empty), using `$1…$n` for `params`. */
  where: string;
  params: readonly unknown[];
  orderBy: string;
  limit: number;
  offset: number;
}

export async function selectPage<R, T>(db: ISqlDatabase, q: PageQuery, map: (row: R) => T): Promise<{ items: T[]; total: number }> {
  const n = q.params.length;
  const rows = await db.all<R>(`${q.select} ${q.where} ORDER BY ${q.orderBy} LIMIT $${n + 1} OFFSET $${n + 2}`, [...q.params, q.limit, q.offset]);
  const total = await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${q.countFrom} ${q.where}`, q.params);
  return { items: rows.map(map), total: Number(total?.n ?? 0) };
}

/** The `WHERE` of a listing of live rows, optionally of one owner (`<alias>.owner_id = $1`). */
export function liveRowsOf(alias: string, ownerId: string | undefined): { where: string; params: unknown[] } {
  return ownerId
    ? { where: `WHERE ${alias}.deleted_at IS NULL AND ${alias}.owner_id = $1`, params: [ownerId] }
    : { where: `WHERE ${alias}.deleted_at IS NULL`, params: [] };
}
