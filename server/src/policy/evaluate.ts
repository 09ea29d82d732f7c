/**
 * Policy evaluation (SPEC §9): explicit Deny, then Allow, else denied. Pure.
 */
import { globMatch, resourceName, type PolicyStatement, type ResourceRef } from './policy';

export type Decision =
  | { allowed: true; by: PolicyStatement }
  | { allowed: false; by: PolicyStatement | null };

/**
 * Decides one action against statements.
 * @param resource - absent for collection actions; statements with resource patterns other
 *   than `*` or `<service>:*` then do not apply.
 */
export function evaluate(statements: readonly PolicyStatement[], action: string, resource?: ResourceRef): Decision {
  let allow: PolicyStatement | null = null;
  for (const s of statements) {
    if (!applies(s, action, resource)) continue;
    if (s.effect === 'Deny') return { allowed: false, by: s };
    allow ??= s;
  }
  return allow ? { allowed: true, by: allow } : { allowed: false, by: null };
}

function applies(s: PolicyStatement, action: string, resource?: ResourceRef): boolean {
  if (!s.actions.some(p => globMatch(p, action))) return false;
  const patterns = s.resources ?? ['*'];
  if (!resource) {
    // A collection action (list, create) has no resource: only service-wide patterns apply.
    const service = action.split(':')[0];
    return patterns.some(p => p === '*' || p === `${service}:*`);
  }
  const name = resourceName(resource);
  return patterns.some(p => globMatch(p, name));
}
