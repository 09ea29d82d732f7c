/**
 * Hostile paths and bodies against the contents API and `files/` (issue 11), property-based:
 * every operation JupyterLab's file browser makes, with paths full of `..`, NUL, backslashes,
 * percent tricks, very long names and Unicode, raw in the request line or encoded. The agent
 * must answer 4xx (Jupyter's `{message, reason}`) or succeed, never 5xx, and never read,
 * write, list or reveal anything outside its root, symlinks included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { startGateway, type TestGateway } from '../utils/gateway';
import { rawRequest, type RawResponse } from '../../../server/test/hostile/raw-http';
import { encodeSegment, nastyJson, nastyString } from '../../../server/test/hostile/arbitraries';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

describe('hostile input: contents API', () => {
  let gw: TestGateway;
  let port: number;
  let base: string;
  let parent: string;
  let outside: string;
  let outsideBefore: string;

  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), 'nbkg-hostile-'));
    const root = join(parent, 'root');
    outside = join(parent, 'outside');
    await mkdir(join(root, 'dir', 'sub'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'secret.txt'), SECRET);
    await writeFile(join(root, 'dir', 'note.txt'), 'inside');
    await writeFile(join(root, 'nb.ipynb'), JSON.stringify({ cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 }));
    // Ways out a user (or a package) could leave in ~/work: links to the outside world.
    await symlink(outside, join(root, 'link-out'));
    await symlink(join(outside, 'secret.txt'), join(root, 'dir', 'secret-link.txt'));
    await symlink('/etc', join(root, 'etc'));
    gw = await startGateway({ rootDir: root, maxContentsBytes: 1 << 20 });
    const url = new URL(gw.url);
    port = Number(url.port);
    base = url.pathname;
    outsideBefore = await snapshot(outside);
  });

  afterAll(async () => {
    await gw?.dispose();
    await rm(parent, { recursive: true, force: true });
  });

  /** Names, contents hashes and modes of every entry under `dir`. */
  async function snapshot(dir: string): Promise<string> {
    const out: string[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of (await readdir(d)).sort()) {
        const p = join(d, e);
        const st = await lstat(p);
        out.push(`${relative(dir, p)} ${st.mode} ${st.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : ''}`);
        if (st.isDirectory()) await walk(p);
      }
    };
    await walk(dir);
    return out.join('\n');
  }

  /** Nothing outside the root changed, and nothing new appeared next to it. */
  async function outsideUntouched(): Promise<void> {
    expect(await snapshot(outside)).toBe(outsideBefore);
    expect((await readdir(parent)).sort()).toEqual(['outside', 'root']);
    // Every entry in the root is a real path inside it, except the links we planted.
    const realRoot = await realpath(gw.config.rootDir);
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d)) {
        const p = join(d, e);
        const st = await lstat(p);
        if (st.isSymbolicLink()) {
          expect(['link-out', join('dir', 'secret-link.txt'), 'etc']).toContain(relative(realRoot, p));
          continue;
        }
        expect((await realpath(p)).startsWith(realRoot + sep)).toBe(true);
        if (st.isDirectory()) await walk(p);
      }
    };
    await walk(realRoot);
  }

  function check(where: string, res: RawResponse): void {
    expect(res.status, `${where}: no answer`).toBeGreaterThan(0);
    expect(res.status, `${where} → ${res.status} ${res.body.slice(0, 300)}`).toBeLessThan(500);
    expect(res.body.includes(SECRET), `${where} revealed the secret`).toBe(false);
    expect(/root:x:0:0/.test(res.body), `${where} revealed /etc/passwd`).toBe(false);
    if (res.status >= 400 && res.body) {
      const b = JSON.parse(res.body) as { message?: unknown; reason?: unknown };
      expect(typeof b.message === 'string' && b.message.length > 0, `${where}: no message`).toBe(true);
    }
  }

  /** A path as a client might send it: segments of hostile names, encoded or raw traversal. */
  const apiPath = fc.array(
    fc.oneof(
      { weight: 3, arbitrary: nastyString(40).map(encodeSegment) },
      { weight: 3, arbitrary: fc.constantFrom('dir', 'sub', 'new', 'nb.ipynb', 'note.txt', 'Untitled.ipynb', 'a%20b', '%C3%A9t%C3%A9', '%F0%9F%98%80') },
      { weight: 2, arbitrary: fc.constantFrom('..', '%2e%2e', '.%2e', '%2E%2E', '..%2F..', '%2F', '%00', '%5C..%5C', 'link-out', 'etc', 'dir', 'sub', 'nb.ipynb', 'note.txt', 'secret-link.txt', 'secret.txt', 'passwd', '.hidden', '%2Fetc') },
      { weight: 1, arbitrary: fc.constant('x'.repeat(300)) }
    ),
    { minLength: 0, maxLength: 3 }
  ).map(s => s.join('/'));

  const model = fc.oneof(
    fc.constantFrom<unknown>(
      { type: 'directory' }, { type: 'file', format: 'text', content: 'hello' }, { type: 'file', format: 'base64', content: 'aGk=' },
      { type: 'notebook', format: 'json', content: { cells: [], metadata: {}, nbformat: 4, nbformat_minor: 5 } },
      { copy_from: 'dir/note.txt' }, { copy_from: 'nb.ipynb' }, { type: 'notebook' }, { type: 'file', ext: '.py' }
    ),
    apiPath.map(path => ({ path })),
    nastyString(100).map(content => ({ type: 'file', format: 'text', content })),
    fc.record({ type: fc.constantFrom('file', 'notebook', 'directory'), format: fc.constantFrom('text', 'base64', 'json'), content: nastyJson }, { requiredKeys: [] }),
    fc.record({ type: fc.constant('notebook'), format: fc.constant('json'), content: fc.record({ cells: fc.array(nastyJson, { maxLength: 2 }), metadata: nastyJson, nbformat: fc.constantFrom(4, 3, 99, -1), nbformat_minor: fc.integer() }) }),
    fc.record({ type: fc.constant('file'), format: fc.constant('text'), content: nastyString(200), chunk: fc.oneof(fc.constantFrom(1, 2, -1, 0, 1.5), nastyJson) }),
    fc.record({ copy_from: fc.oneof(apiPath, nastyJson), path: fc.oneof(apiPath, nastyJson), type: nastyJson, ext: nastyJson }, { requiredKeys: [] }),
    nastyJson
  );

  it('should answer every contents operation on hostile paths with 4xx or success and never touch the outside', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('GET', 'PUT', 'PUT', 'POST', 'PATCH', 'DELETE'),
        fc.constantFrom('api/contents/', 'api/contents/', 'api/contents/', 'files/'),
        apiPath,
        fc.option(fc.constantFrom('/checkpoints', '/checkpoints/abc', '/checkpoints/%2e%2e'), { nil: '', freq: 8 }),
        fc.option(fc.constantFrom('?type=notebook', '?type=file&format=base64', '?content=0', '?content=1&hash=1', '?type=..', '?format=%00', '?download=1'), { nil: '' }),
        model,
        async (method, prefix, path, checkpoint, query, body) => {
          const target = `${base}${prefix}${path}${prefix === 'api/contents/' ? checkpoint : ''}${query}`;
          if (prefix === 'files/') method = 'GET';
          const res = await rawRequest(port, {
            method, path: target, headers: [['Authorization', `token ${gw.token}`], ['Content-Type', 'application/json']],
            ...(method === 'GET' || method === 'DELETE' ? {} : { body: JSON.stringify(body) })
          });
          check(`${method} ${target.slice(0, 200)} ${JSON.stringify(body).slice(0, 150)}`, res);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        }
      ),
      { numRuns: 1_000 }
    );
    // Some runs got past the path checks: files were created, saved, renamed and deleted.
    expect([...statuses].filter(([st]) => st < 300).reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(15);
    await outsideUntouched();
  }, 300_000);

  it('should not follow the planted links out, whatever the operation', async () => {
    const auth: [string, string] = ['Authorization', `token ${gw.token}`];
    for (const [method, path, body] of [
      ['GET', 'api/contents/link-out/secret.txt', undefined],
      ['GET', 'api/contents/dir/secret-link.txt', undefined],
      ['GET', 'files/dir/secret-link.txt', undefined],
      ['GET', 'api/contents/etc/passwd', undefined],
      ['GET', 'api/contents/link-out', undefined],
      ['PUT', 'api/contents/link-out/new.txt', { type: 'file', format: 'text', content: 'x' }],
      ['PUT', 'api/contents/dir/secret-link.txt', { type: 'file', format: 'text', content: 'overwritten' }],
      ['PATCH', 'api/contents/dir/note.txt', { path: 'link-out/moved.txt' }],
      ['POST', 'api/contents/dir', { copy_from: 'link-out/secret.txt' }],
      ['POST', 'api/contents/link-out', { type: 'file' }],
      ['DELETE', 'api/contents/link-out/secret.txt', undefined],
      ['POST', 'api/contents/dir/secret-link.txt/checkpoints', undefined]
    ] as const) {
      const res = await rawRequest(port, { method, path: `${base}${path}`, headers: [auth, ['Content-Type', 'application/json']], ...(body ? { body: JSON.stringify(body) } : {}) });
      check(`${method} ${path}`, res);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
    }
    await outsideUntouched();
  });
});
