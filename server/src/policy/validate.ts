/**
 * Boundary checks for policy documents an administrator sets (STYLE.md §21).
 */
import { Errors } from '../errors';
import { ACTIONS, SERVICES, type PolicyDocument, type PolicyStatement } from './policy';

const MAX_STATEMENTS = 100;
const MAX_PATTERNS = 100;
const RESOURCE = /^(\*|(notebook|trainJob|image|flavor):[A-Za-z0-9._:*\/-]{1,200})$/;

/** Whether an action pattern can match anything (catches typos like `notebok:*`). */
export function actionPatternProblem(p: string): string | null {
  if (p === '*') return null;
  const [service, verb, extra] = p.split(':');
  if (extra !== undefined || !verb) return `"${p}" must be service:verb, e.g. notebook:delete or notebook:*`;
  if (!SERVICES.includes(service as (typeof SERVICES)[number])) return `"${p}": unknown service "${service}"; known: ${SERVICES.join(', ')}`;
  if (verb !== '*' && !ACTIONS.includes(p)) return `"${p}": unknown action; known: ${ACTIONS.filter(a => a.startsWith(`${service}:`)).join(', ')}`;
  return null;
}

export function validatePolicy(body: unknown): PolicyDocument {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw Errors.VALIDATION('the policy must be a JSON object {"statements": [...]}');
  const o = body as Record<string, unknown>;
  const extra = Object.keys(o).filter(k => k !== 'statements');
  if (extra.length) throw Errors.VALIDATION(`unknown field(s) ${extra.join(', ')}; a policy has only "statements"`);
  if (!Array.isArray(o.statements)) throw Errors.VALIDATION('"statements" must be an array');
  if (o.statements.length > MAX_STATEMENTS) throw Errors.VALIDATION(`at most ${MAX_STATEMENTS} statements are allowed`);
  return { statements: o.statements.map((s, i) => validateStatement(s, `statements[${i}]`)) };
}

function validateStatement(raw: unknown, where: string): PolicyStatement {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw Errors.VALIDATION(`${where} must be an object`);
  const s = raw as Record<string, unknown>;
  const extra = Object.keys(s).filter(k => !['effect', 'actions', 'resources', 'description'].includes(k));
  if (extra.length) throw Errors.VALIDATION(`${where}: unknown field(s) ${extra.join(', ')}; allowed: effect, actions, resources, description`);
  if (s.effect !== 'Allow' && s.effect !== 'Deny') throw Errors.VALIDATION(`${where}.effect must be "Allow" or "Deny"`);
  const list = (k: 'actions' | 'resources'): string[] => {
    const v = s[k];
    if (!Array.isArray(v) || v.length === 0 || v.length > MAX_PATTERNS || !v.every(x => typeof x === 'string')) {
      throw Errors.VALIDATION(`${where}.${k} must be a non-empty array of at most ${MAX_PATTERNS} strings`);
    }
    return v as string[];
  };
  const actions = list('actions');
  for (const a of actions) {
    const problem = actionPatternProblem(a);
    if (problem) throw Errors.VALIDATION(`${where}.actions: ${problem}`);
  }
  const out: PolicyStatement = { effect: s.effect, actions };
  if (s.resources !== undefined) {
    const resources = list('resources');
    const bad = resources.find(r => !RESOURCE.test(r));
    if (bad !== undefined) throw Errors.VALIDATION(`${where}.resources: "${bad}" must be "*" or service:pattern (notebook:<id>, trainJob:<id>, image:<name>, with * wildcards)`);
    out.resources = resources;
  }
  if (s.description !== undefined) {
    if (typeof s.description !== 'string' || s.description.length > 256) throw Errors.VALIDATION(`${where}.description must be a string of at most 256 characters`);
    out.description = s.description;
  }
  return out;
}
