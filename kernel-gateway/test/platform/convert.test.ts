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
