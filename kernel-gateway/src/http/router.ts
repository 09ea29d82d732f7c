/**
 * A small method + path-pattern router. Patterns are relative to the base URL and use
 * `:name` for one segment and `*name` for the rest of the path (contents paths contain `/`).
 *
 * #### Notes
 * Routes are matched in registration order; the first match wins. A path that matches a
 * pattern but not the method answers 405, as Tornado does for Jupyter Server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export type Params = Record<string, string>;
export type Handler = (req: IncomingMessage, res: ServerResponse, params: Params, url: URL) => Promise<void> | void;

interface Route {
  method: string;
  segments: string[];
  handler: Handler;
}

export type RouteMatch =
  | { kind: 'found'; handler: Handler; params: Params }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'not-found' };

export class Router {
  private readonly _routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this._routes.push({ method, segments: split(pattern), handler });
    return this;
  }

  get(p: string, h: Handler): this { return this.add('GET', p, h); }
  post(p: string, h: Handler): this { return this.add('POST', p, h); }
  put(p: string, h: Handler): this { return this.add('PUT', p, h); }
  patch(p: string, h: Handler): this { return this.add('PATCH', p, h); }
  delete(p: string, h: Handler): this { return this.add('DELETE', p, h); }

  /** Matches a path relative to the base URL (no leading slash needed). */
  match(method: string, path: string): RouteMatch {
    const parts = split(path);
    const allowed: string[] = [];
    for (const route of this._routes) {
      const params = matchSegments(route.segments, parts);
      if (!params) continue;
      if (route.method === method || (method === 'HEAD' && route.method === 'GET')) {
        return { kind: 'found', handler: route.handler, params };
      }
      allowed.push(route.method);
    }
    return allowed.length ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' };
  }
}

function split(path: string): string[] {
  return path.split('/').filter(s => s.length > 0);
}

function matchSegments(pattern: string[], parts: string[]): Params | null {
  const params: Params = {};
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    if (seg.startsWith('*')) {
      params[seg.slice(1)] = parts.slice(i).map(decodeURIComponent).join('/');
      return params;
    }
    const part = parts[i];
    if (part === undefined) return null;
    if (seg.startsWith(':')) {
      params[seg.slice(1)] = decodeURIComponent(part);
    } else if (seg !== part) {
      return null;
    }
  }
  return parts.length === pattern.length ? params : null;
}
