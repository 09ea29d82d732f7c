/**
 * A small method + path-pattern router. Patterns are relative to the base URL and use
 * `:name` for one segment and `*name` for any number of segments (contents paths contain
 * `/`); segments after a `*name` are matched from the end of the path, so
 * `api/contents/*path/checkpoints/:id` works as in jupyter_server.
 *
 * #### Notes
 * Routes are matched in registration order; the first match wins. A path that matches a
 * pattern but not the method answers 405, as Tornado does for Jupyter Server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { JupyterError } from '../errors';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void> | void;

/**
 * Whether a successful request counts as user activity for the activity feed.
 *
 * #### Notes
 * Reads that JupyterLab repeats on a timer (kernel, session and terminal lists, the open
 * directory) are `passive`: an unattended browser tab must not keep an instance alive.
 */
export type ActivityKind = 'active' | 'passive';

export interface RouteOptions {
  /** Defaults to `passive` for GET/HEAD and `active` for everything else. */
  activity?: ActivityKind;
}

interface Route {
  method: string;
  pattern: Pattern;
  handler: Handler;
  activity: ActivityKind;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Params; activity: ActivityKind }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export class Router {
  private readonly _routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: RouteOptions = {}): this {
    const activity = opts.activity ?? (method === 'GET' ? 'passive' : 'active');
    this._routes.push({ method, pattern: compilePattern(pattern), handler, activity });
    return this;
  }

  get(p: string, h: Handler, o?: RouteOptions): this { return this.add('GET', p, h, o); }
  post(p: string, h: Handler, o?: RouteOptions): this { return this.add('POST', p, h, o); }
  put(p: string, h: Handler, o?: RouteOptions): this { return this.add('PUT', p, h, o); }
  patch(p: string, h: Handler, o?: RouteOptions): this { return this.add('PATCH', p, h, o); }
  delete(p: string, h: Handler, o?: RouteOptions): this { return this.add('DELETE', p, h, o); }

  /** Matches a path relative to the base URL (no leading slash needed). */
  match(method: string, path: string): RouteMatch {
    const parts = splitPath(path);
    const allowed: string[] = [];
    for (const route of this._routes) {
      const params = matchPattern(route.pattern, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { kind: 'found', handler: route.handler, params, activity: route.activity };
      }
      if (!allowed.includes(route.method)) allowed.push(route.method);
    }
    return allowed.length ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

/** A compiled path pattern (see the module comment for the syntax). */
export interface Pattern {
  readonly segments: readonly string[];
}

export function compilePattern(pattern: string): Pattern {
  const segments = splitPath(pattern);
  if (segments.filter(s => s.startsWith('*')).length > 1) throw new Error(`"${pattern}" has more than one *segment`);
  return { segments };
}

/** Splits a path into its non-empty segments, still percent-encoded. */
export function splitPath(path: string): string[] {
  return path.split('/').filter(s => s.length > 0);
}

/**
 * Matches already-split path segments against a pattern.
 * @returns the decoded parameters, or null when the path does not match.
 * @throws 400 when a segment is not valid percent-encoding.
 */
export function matchPattern(pattern: Pattern, parts: readonly string[]): Params | null {
  const segs = pattern.segments;
  const star = segs.findIndex(s => s.startsWith('*'));
  const params: Params = {};
  if (star < 0) {
    return parts.length === segs.length && matchFixed(segs, parts, params) ? params : null;
  }
  const tail = segs.length - star - 1;
  if (parts.length < star + tail) return null;
  if (!matchFixed(segs.slice(0, star), parts.slice(0, star), params)) return null;
  if (!matchFixed(segs.slice(star + 1), parts.slice(parts.length - tail), params)) return null;
  params[segs[star]!.slice(1)] = parts.slice(star, parts.length - tail).map(decode).join('/');
  return params;
}

function matchFixed(segs: readonly string[], parts: readonly string[], params: Params): boolean {
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const part = parts[i]!;
    if (seg.startsWith(':')) params[seg.slice(1)] = decode(part);
    else if (seg !== part) return false;
  }
  return true;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new JupyterError(400, `path segment "${segment}" is not valid percent-encoding`);
  }
}
