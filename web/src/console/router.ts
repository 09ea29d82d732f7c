/**
 * Hash routes of the console (`#/notebooks/<id>`): the gateway serves one page at `/`, so
 * deep links and reloads need no server routing.
 */

export interface Route<T> {
  pattern: string;
  value: T;
}

export interface Match<T> {
  pattern: string;
  value: T;
  params: Record<string, string>;
  query: URLSearchParams;
}

/** Matches `#/a/:b?x=1` against patterns such as `/a/:b`; the first match wins. */
export function matchRoute<T>(routes: readonly Route<T>[], hash: string): Match<T> | null {
  const raw = hash.replace(/^#/, '') || '/';
  const [path = '/', qs = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean);
  for (const r of routes) {
    const want = r.pattern.split('/').filter(Boolean);
    if (want.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      let p: string;
      try {
        p = decodeURIComponent(parts[i]!);
      } catch {
        ok = false;
        break;
      }
      if (w.startsWith(':')) params[w.slice(1)] = p;
      else if (w !== p) {
        ok = false;
        break;
      }
    }
    if (ok) return { pattern: r.pattern, value: r.value, params, query: new URLSearchParams(qs) };
  }
  return null;
}

/** Only same-site paths are followed after sign-in (no open redirect). */
export function safeNext(next: string | null): string | null {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return null;
  return next;
}
