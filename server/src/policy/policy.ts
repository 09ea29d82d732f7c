/**
 * Access-control vocabulary (SPEC §9): actions, statements, documents, resources.
 *
 * #### Notes
 * Evaluation (see `evaluate.ts`): an explicit Deny wins, then an Allow, otherwise denied.
 * Statements come from the principal's built-in role (admin: everything; user: own
 * resources) and from a per-user policy an administrator sets. Tenancy is not a policy:
 * another user's resource answers 404 to a non-admin before any statement is looked at.
 */

/** Services and their actions. `trainJob` and `image` follow the notebook verbs. */
export const SERVICES = ['notebook', 'trainJob', 'image'] as const;
export type Service = (typeof SERVICES)[number];

export const VERBS: Readonly<Record<Service, readonly string[]>> = {
  // list, create, get, update, delete; `action` = start/stop/renew; `access` = open (JupyterLab, proxy, WebSocket, SSH).
  notebook: ['list', 'create', 'get', 'update', 'delete', 'action', 'access'],
  // `action` = stop a version; `logs` = read logs.
  trainJob: ['list', 'create', 'get', 'update', 'delete', 'action', 'logs'],
  // `create` = save as image / register.
  image: ['list', 'create', 'get', 'update', 'delete']
};

/** Every concrete action, e.g. `notebook:access`. */
export const ACTIONS: readonly string[] = SERVICES.flatMap(s => VERBS[s].map(v => `${s}:${v}`));

export type Effect = 'Allow' | 'Deny';

/**
 * One rule. `actions` are `service:verb` with `*` wildcards (`notebook:*`, `*`);
 * `resources` are `service:id` patterns (`notebook:abc123`, `image:myimg:*`, `flavor:gpu.*`),
 * default `["*"]`.
 */
export interface PolicyStatement {
  effect: Effect;
  actions: string[];
  resources?: string[];
  /** Free text for people. */
  description?: string;
}

export interface PolicyDocument {
  statements: PolicyStatement[];
}

/** What an action applies to; absent for collection actions (list, create). */
export interface ResourceRef {
  service: Service;
  id: string;
  /** The owner; a non-admin gets 404 for resources they do not own. */
  ownerId?: string;
}

/** `service:id` as statements name it. */
export function resourceName(r: ResourceRef): string {
  return `${r.service}:${r.id}`;
}

/** Glob match where `*` matches any run of characters (including `:`). */
export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (!pattern.includes('*')) return pattern === value;
  const re = new RegExp(`^${pattern.split('*').map(escapeRe).join('.*')}$`);
  return re.test(value);
}

function escapeRe(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
