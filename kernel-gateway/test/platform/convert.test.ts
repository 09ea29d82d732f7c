/**
 * Convert to Python File: every fixture notebook converts to a `.py` that compiles, runnable
 * ones print exactly what the notebook prints when executed by a real kernel, and our idea of
 * which lines are IPython-only matches IPython's own transformer.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelManager, type KernelMessage } from '@jupyterlab/services';
import { notebookToPython, type NotebookLike } from '../../src/platform/convert/notebook-to-python';
import { startGateway, type TestGateway } from '../utils/gateway';

const execFileP = promisify(execFile);
const FIXTURES = resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'notebooks');
const PYTHON = '/usr/bin/python3';

interface Fixture {
  name: string;
  nb: NotebookLike & { metadata: { nbgateway?: { runnable?: boolean } } };
}

async function fixtures(): Promise<Fixture[]> {
  const names = (await readdir(FIXTURES)).filter(n => n.endsWith('.ipynb')).sort();
  return Promise.all(names.map(async name => ({ name, nb: JSON.parse(await readFile(join(FIXTURES, name), 'utf8')) })));
}

const cellSource = (c: { source: string | string[] }): string => (Array.isArray(c.source) ? c.source.join('') : c.source);

describe('notebookToPython()', () => {
  let dir: string;
  let all: Fixture[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nbg-convert-'));
    all = await fixtures();
    expect(all.length).toBeGreaterThanOrEqual(7);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('should produce a .py that py_compile accepts for every fixture', async () => {
    for (const f of all) {
      const { source } = notebookToPython(f.nb, f.name);
      const file = join(dir, f.name.replace(/\.ipynb$/, '.py'));
      await writeFile(file, source);
      await expect(execFileP(PYTHON, ['-m', 'py_compile', file]), f.name).resolves.toBeDefined();
    }
  });

  it('should mark cells with # %% and turn markdown into comments', () => {
    const f = all.find(x => x.name === 'plain.ipynb')!;
    const { source } = notebookToPython(f.nb, f.name);
    expect(source).toContain('# %% [markdown]\n# # A plain notebook\n#\n# Some *markdown* with `code`.');
    expect(source).toContain('# %% [raw]\n# raw cell text');
    expect(source.match(/^# %%$/gm)).toHaveLength(4);
    expect(source).not.toContain('_shell');
  });

  it('should turn shell lines and %%bash cells into subprocess calls, other magics into notes', () => {
    const shell = notebookToPython(all.find(x => x.name === 'shell.ipynb')!.nb, 'shell.ipynb').source;
    expect(shell).toContain('_shell("echo hello from the shell")');
    expect(shell).toContain('files = _shell("printf \'a\\\\nb\\\\n\'", capture=True)');
    expect(shell).toContain("_run_cell(\"bash\", r'''echo from bash");
    expect(shell).toContain('import subprocess');
    const syntax = notebookToPython(all.find(x => x.name === 'ipython-syntax.ipynb')!.nb, 'x.ipynb');
    expect(syntax.source).toContain('# %pip install pandas  # [nbgateway] %pip does not run under python3: install packages in the image');
    expect(syntax.source).toContain('    pass  # %time g()  # [nbgateway]');
    expect(syntax.source).toContain('# %%html  # [nbgateway] cell magic %%html does not run under python3');
    expect(syntax.notes.length).toBeGreaterThan(5);
  });

  it('should refuse notebooks that are not Python or not nbformat 4', () => {
    expect(() => notebookToPython({ nbformat: 4, cells: [], metadata: { kernelspec: { language: 'R' } } }, 'r.ipynb')).toThrow(/only Python notebooks/);
    expect(() => notebookToPython({ nbformat: 3, cells: [] } as NotebookLike, 'old.ipynb')).toThrow(/nbformat 4/);
  });

  it("should agree with IPython's own transformer on which lines are IPython-only", async () => {
    const script = `
import json, sys
from IPython.core.inputtransformer2 import TransformerManager
tm = TransformerManager()
cells = json.load(sys.stdin)
print(json.dumps([tm.transform_cell(c) for c in cells]))`;
    for (const f of all) {
      const codeCells = f.nb.cells.filter(c => c.cell_type === 'code').map(cellSource).filter(s => !s.startsWith('%%') && s.trim() !== '');
      if (codeCells.length === 0) continue;
      const child = execFileP(PYTHON, ['-c', script]);
      child.child.stdin!.end(JSON.stringify(codeCells));
      const transformed = JSON.parse((await child).stdout) as string[];
      codeCells.forEach((src, i) => {
        const ours = notebookToPython({ nbformat: 4, cells: [{ cell_type: 'code', source: src }] }, 'c.ipynb').source.split('\n# %%\n')[1]!.split('\n');
        const theirs = transformed[i]!.split('\n');
        src.split('\n').forEach((line, j) => {
          const ipythonOnly = theirs[j] !== line;
          const oursChanged = ours[j] !== line;
          expect(oursChanged, `${f.name}: ${JSON.stringify(line)} → IPython ${JSON.stringify(theirs[j])}, ours ${JSON.stringify(ours[j])}`).toBe(ipythonOnly);
        });
      });
    }
  });

  describe('runnable notebooks', () => {
    let gw: TestGateway;
    let kernels: KernelManager;

    beforeAll(async () => {
      gw = await startGateway({ rootDir: dir });
      kernels = new KernelManager({ serverSettings: gw.settings });
      await kernels.ready;
    });

    afterAll(async () => {
      kernels?.dispose();
      await gw?.dispose();
    });

    /** Runs the code cells in a real kernel and returns what they wrote to stdout. */
    async function notebookStdout(nb: NotebookLike): Promise<string> {
      const kernel = await kernels.startNew({ name: 'python3' }, { username: 'test' });
      let out = '';
      try {
        for (const cell of nb.cells) {
          if (cell.cell_type !== 'code') continue;
          const future = kernel.requestExecute({ code: cellSource(cell), stop_on_error: true });
          future.onIOPub = (msg: KernelMessage.IIOPubMessage) => {
            if (msg.header.msg_type === 'stream' && (msg as KernelMessage.IStreamMsg).content.name === 'stdout') {
              out += (msg as KernelMessage.IStreamMsg).content.text;
            }
          };
          const reply = await future.done;
          expect(reply?.content.status).toBe('ok');
        }
      } finally {
        await kernel.shutdown();
      }
      return out;
    }

    it('should print exactly what the notebook prints', async () => {
      const runnable = all.filter(f => f.nb.metadata.nbgateway?.runnable);
      expect(runnable.map(f => f.name)).toEqual(expect.arrayContaining(['plain.ipynb', 'shell.ipynb', 'magics.ipynb', 'unicode.ipynb']));
      for (const f of runnable) {
        const file = join(dir, f.name.replace(/\.ipynb$/, '.py'));
        await writeFile(file, notebookToPython(f.nb, f.name).source);
        const expected = await notebookStdout(f.nb);
        const { stdout } = await execFileP(PYTHON, [file], { cwd: dir, env: { ...process.env, PYTHONIOENCODING: 'utf-8' } });
        // IPython runs !cmd on a pty, which turns "\n" into "\r\n"; the text is the same.
        expect(stdout, f.name).toBe(expected.replaceAll('\r\n', '\n'));
      }
    }, 120_000);
  });
});

describe('POST api/nbg/convert', () => {
  let gw: TestGateway;
  const nb = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, cells: [{ cell_type: 'code', id: 'a', metadata: {}, source: "print('hi')", outputs: [], execution_count: null }] };

  beforeAll(async () => {
    gw = await startGateway();
  });

  afterAll(async () => {
    await gw?.dispose();
  });

  const call = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${gw.url}${path}`, { ...init, headers: { Authorization: `token ${gw.token}`, 'Content-Type': 'application/json', ...(init.headers ?? {}) } });
  const convert = (body: unknown): Promise<Response> => call('api/nbg/convert', { method: 'POST', body: JSON.stringify(body) });

  it('should write <name>.py next to the notebook and never overwrite it without force', async () => {
    await call('api/contents/proj', { method: 'PUT', body: JSON.stringify({ type: 'directory' }) });
    const saved = await call('api/contents/proj/train.ipynb', { method: 'PUT', body: JSON.stringify({ type: 'notebook', format: 'json', content: nb }) });
    expect(saved.status).toBe(201);
    const first = await convert({ path: 'proj/train.ipynb' });
    expect(first.status).toBe(201);
    const model = (await first.json()) as { path: string; overwritten: boolean };
    expect(model).toMatchObject({ path: 'proj/train.py', overwritten: false });
    const file = await (await call('api/contents/proj/train.py?content=1&type=file&format=text')).json() as { content: string };
    expect(file.content).toContain("# %%\nprint('hi')");

    const again = await convert({ path: 'proj/train.ipynb' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { message: string }).message).toBe('proj/train.py already exists; choose another name, or set "force" to overwrite it');

    const forced = await convert({ path: 'proj/train.ipynb', force: true });
    expect(forced.status).toBe(200);
    expect(((await forced.json()) as { overwritten: boolean }).overwritten).toBe(true);

    const named = await convert({ path: 'proj/train.ipynb', name: 'boot' });
    expect(named.status).toBe(201);
    expect(((await named.json()) as { path: string }).path).toBe('proj/boot.py');
  });

  it('should refuse a notebook that is not saved, or has unsaved changes', async () => {
    const missing = await convert({ path: 'Untitled.ipynb' });
    expect(missing.status).toBe(409);
    expect(((await missing.json()) as { message: string }).message).toContain('is not saved yet; save it, then convert it');
    await call('api/contents/edited.ipynb', { method: 'PUT', body: JSON.stringify({ type: 'notebook', format: 'json', content: nb }) });
    const stale = await convert({ path: 'edited.ipynb', last_modified: '2001-01-01T00:00:00.000Z' });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { message: string }).message).toContain('has unsaved changes');
  });

  it('should refuse bad paths and names with 400', async () => {
    for (const body of [{ path: '../escape.ipynb' }, { path: 'x.txt' }, { path: 'a.ipynb', name: '../b.py' }, { path: 'a.ipynb', force: 'yes' }, {}]) {
      const res = await convert(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });
});
