/**
 * A state change as one compare-and-set statement: the row moves to `to` only if it is still
 * live and in one of `from`, so two replicas (or two requests) racing on the same row cannot
 * both win. `changes === 1` tells the caller whether it did.
 */

/** Columns to set alongside the status, as `[column, value]`. */
export type ColumnValues = ReadonlyArray<readonly [string, unknown]>;

export function statusTransition(table: string, id: string, from: readonly string[], to: string, columns: ColumnValues, now: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [to, now];
  const sets = ['status = $1', 'updated_at = $2'];
  for (const [col, v] of columns) {
    params.push(v);
    sets.push(`${col} = $${params.length}`);
  }
  params.push(id);
  const idMark = `$${params.length}`;
  const marks = from.map(s => {
    params.push(s);
    return `$${params.length}`;
  });
  return { sql: `UPDATE ${table} SET ${sets.join(', ')} WHERE id = ${idMark} AND deleted_at IS NULL AND status IN (${marks.join(', ')})`, params };
}

/** `[column, JSON text or null]` for a JSON column. */
export const json = (v: unknown): string | null => (v ? JSON.stringify(v) : null);
