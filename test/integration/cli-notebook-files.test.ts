/**
 * `nbg convert`, `nbg save-image` and `nbg custom-images` against a real gateway (issue 8):
 * the no-overwrite rule and refusals reach the terminal with the gateway's message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotebookInstance } from '../../server/src/api/types';
import { runNbg, type CliRun } from '../utils/cli';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

describe('nbg convert / save-image', () => {
  let gw: GatewayProcess;
  let home: string;

  beforeAll(async () => {
    gw = await startGatewayProcess();
    home = await mkdtemp(join(tmpdir(), 'nbg-cli-files-'));
  });
  afterAll(async () => {
    await gw?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  const nbg = (args: string[]): Promise<CliRun> => runNbg(args, { home, env: { NBG_URL: gw.url, NBG_TOKEN: gw.adminToken } });

  it('should convert a notebook, refuse to overwrite, and overwrite with --force', async () => {
    const created = await gw.api('/api/v1/notebooks', { method: 'POST', token: gw.adminToken, json: { name: 'files', image: 'python3.11-cpu-debian12' } });
    const inst = (await created.json()) as NotebookInstance;
    await waitFor(async () => ((await (await gw.api(`/api/v1/notebooks/${inst.id}`, { token: gw.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
    const nb = { nbformat: 4, nbformat_minor: 5, metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } }, cells: [{ cell_type: 'code', id: 'a', metadata: {}, source: '!echo hi', outputs: [], execution_count: null }] };
    const put = await gw.api(`/notebooks/${inst.id}/api/contents/train.ipynb`, { method: 'PUT', token: gw.adminToken, json: { type: 'notebook', format: 'json', content: nb } });
    expect(put.status).toBe(201);

    const first = await nbg(['convert', 'files', 'train.ipynb']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim()).toBe('wrote train.py');
    const again = await nbg(['convert', 'files', 'train.ipynb']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('train.py already exists; choose another name, or set "force" to overwrite it');
    const forced = await nbg(['convert', 'files', 'train.ipynb', '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ path: 'train.py', overwritten: true });
    const py = (await (await gw.api(`/notebooks/${inst.id}/api/contents/train.py?type=file&format=text`, { token: gw.adminToken })).json()) as { content: string };
    expect(py.content).toContain('_shell("echo hi")');

    // The local-process runtime has no images: the refusal says so.
    const save = await nbg(['save-image', 'files', 'mine:v1']);
    expect(save.code).toBe(1);
    expect(save.stderr).toContain('save as image needs a container runtime (Docker)');
    const list = await nbg(['custom-images', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    const usage = await nbg(['convert', 'files']);
    expect(usage.code).toBe(2);
  });
});
