/**
 * Training jobs end to end through the built gateway (issue 9, "what it must show"), run
 * against each scheduler (`jobs-local`, `jobs-slurm`, `jobs-docker`): a notebook that trains a
 * scikit-learn model, submitted from the API, reaches SUCCEEDED with the model under
 * `<output>/V0001/` and its prints in the log; a failing script is FAILED with its traceback;
 * a long job is canceled and leaves the scheduler; a 2-task job sees DLS_TASK_INDEX 0 and 1
 * and both BATCH_CUSTOM<i>_HOSTS (and the tasks talk over them); modify-and-rerun makes V0002;
 * jobs survive a gateway restart; webhooks arrive, signed.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../server/src/storage/fs-object-store';
import type { TrainingJob, TrainingJobVersion } from '../../server/src/jobs/wire';
import { startGatewayProcess, waitFor, type GatewayProcess } from '../utils/gateway-process';

export const SKLEARN_IMAGE = 'sklearn1.2-xgboost1.7-cpu-debian12';

/** The notebook a user would write: trains a model and saves it where the job's outputs go. */
export const TRAIN_NOTEBOOK = {
  nbformat: 4,
  nbformat_minor: 5,
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  cells: [
    { cell_type: 'markdown', id: 'a', metadata: {}, source: ['# Iris\n', 'A small model.'] },
    {
      cell_type: 'code', id: 'b', metadata: {}, execution_count: null, outputs: [],
      source: [
        'import os, pickle\n',
        'from sklearn.datasets import load_iris\n',
        'from sklearn.linear_model import LogisticRegression\n',
        'from helpers import banner\n',
        'print(banner())\n',
        'X, y = load_iris(return_X_y=True)\n',
        'clf = LogisticRegression(max_iter=500).fit(X, y)\n',
        'print(f"accuracy={clf.score(X, y):.3f}")'
      ]
    },
    {
      cell_type: 'code', id: 'c', metadata: {}, execution_count: null, outputs: [],
      source: [
        "out = os.environ.get('NBG_OUTPUT_DIR', '.')\n",
        "with open(os.path.join(out, 'model.pkl'), 'wb') as f:\n",
        '    pickle.dump(clf, f)\n',
        "print('saved model to', out, 'task', os.environ['DLS_TASK_INDEX'], 'train url', os.environ['DLS_TRAIN_URL'])"
      ]
    }
  ]
};

const CODE: Record<string, string> = {
  'fail/train.py': "print('about to fail')\ndef divide(a, b):\n    return a / b\ndivide(1, 0)\n",
  'long/train.py': "import time\nfor i in range(600):\n    print('tick', i)\n    time.sleep(0.2)\n",
  'short/train.py': [
    'import argparse, os, time',
    'p = argparse.ArgumentParser(); p.add_argument("--sleep", type=float, default=0); p.add_argument("--tag", default="none"); p.add_argument("--blob_mb", type=int, default=0)',
    'a = p.parse_args()',
    'time.sleep(a.sleep)',
    'open(os.path.join(os.environ["NBG_OUTPUT_DIR"], "result.txt"), "w").write(a.tag)',
    'os.makedirs(os.path.join(os.environ["NBG_OUTPUT_DIR"], "ckpt"), exist_ok=True)',
    'open(os.path.join(os.environ["NBG_OUTPUT_DIR"], "ckpt", "blob.bin"), "wb").write(os.urandom(a.blob_mb << 20))',
    'print("done", a.tag)',
    ''
  ].join('\n'),
  // Each task listens on its own BATCH_CUSTOM<i>_HOSTS port and says hello to every other task.
  'dist/train.py': [
    'import json, os, socket, time',
    'i = int(os.environ["DLS_TASK_INDEX"]); n = int(os.environ["DLS_TASK_NUMBER"])',
    'hosts = [os.environ[f"BATCH_CUSTOM{k}_HOSTS"] for k in range(n)]',
    'print(f"task {i} of {n} hosts {hosts}", flush=True)',
    'srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
    'srv.bind(("0.0.0.0", int(hosts[i].rsplit(":", 1)[1]))); srv.listen(n)',
    'for k in range(n):',
    '    if k == i: continue',
    '    h, port = hosts[k].rsplit(":", 1)',
    '    for attempt in range(200):',
    '        try:',
    '            s = socket.create_connection((h, int(port)), timeout=2); s.sendall(str(i).encode()); s.close(); break',
    '        except OSError:',
    '            time.sleep(0.1)',
    '    else:',
    '        raise SystemExit(f"task {i} could not reach task {k} at {hosts[k]}")',
    'heard = []',
    'srv.settimeout(30)',
    'for _ in range(n - 1):',
    '    c, _ = srv.accept(); heard.append(int(c.recv(16).decode())); c.close()',
    'print(f"task {i} heard from {sorted(heard)}")',
    'out = os.environ["NBG_OUTPUT_DIR"]',
    'json.dump({"index": i, "number": n, "hosts": hosts, "heard": sorted(heard)}, open(os.path.join(out, f"task-{i}.json"), "w"))',
    ''
  ].join('\n')
};

export interface JobsSuiteOptions {
  name: string;
  /** Gateway environment (evaluated after the suite's own setup, e.g. a Slurm cluster). */
  env: () => Record<string, string>;
  /** Resolves once the scheduler no longer runs anything of the version. */
  gone: (gw: GatewayProcess, versionId: string) => Promise<boolean>;
  /** Ceiling for a version to end (Slurm's first scheduling pass is slower). */
  timeoutMs?: number;
  /** Skips the suite (e.g. no Docker here). */
  skip?: boolean;
  /** Runs before the gateway starts (e.g. checks the images the jobs need). */
  before?: () => Promise<void>;
}

interface Hook {
  event: string;
  body: Record<string, unknown>;
  signature: string | undefined;
}

export function describeJobsEndToEnd(o: JobsSuiteOptions): void {
  describe.skipIf(o.skip === true)(`training jobs on the ${o.name} scheduler`, () => {
    let gw: GatewayProcess;
    let objects: FsObjectStore;
    let hookServer: Server;
    let hookUrl: string;
    const hooks: Hook[] = [];
    const timeout = o.timeoutMs ?? 60_000;

    const start = async (dataDir?: string): Promise<GatewayProcess> =>
      startGatewayProcess({
        NBG_JOB_POLL_INTERVAL_MS: '250',
        NBG_WEBHOOK_ALLOW_PRIVATE: 'true',
        NBG_WEBHOOK_RETRY_BASE_MS: '100',
        NBG_STOP_TIMEOUT_MS: '5000',
        ...o.env()
      }, dataDir ? { dataDir } : {});

    beforeAll(async () => {
      await o.before?.();
      hookServer = createServer((req, res) => {
        let body = '';
        req.on('data', c => (body += c));
        req.on('end', () => {
          hooks.push({ event: String(req.headers['x-nbg-event']), body: JSON.parse(body) as Record<string, unknown>, signature: req.headers['x-nbg-signature'] as string | undefined });
          // The first delivery fails, so every event is also a retry.
          res.writeHead(hooks.filter(h => h.body.version === (JSON.parse(body) as { version: string }).version && h.event === req.headers['x-nbg-event']).length === 1 ? 503 : 200).end();
        });
      });
      await new Promise<void>(r => hookServer.listen(0, '127.0.0.1', r));
      hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;
      gw = await start();
      objects = new FsObjectStore({ root: join(gw.dataDir, 'objects') });
      for (const b of ['code', 'out', 'logs']) await objects.ensureBucket(b);
      for (const [key, body] of Object.entries(CODE)) await objects.put('code', key, Buffer.from(body));
    });

    afterAll(async () => {
      await gw?.stop();
      await new Promise(r => hookServer?.close(r));
    });

    const api = async <T>(path: string, init: RequestInit & { json?: unknown; token?: string } = {}): Promise<{ status: number; body: T }> => {
      const res = await gw.api(path, { token: gw.adminToken, ...init });
      const raw = await res.text();
      return { status: res.status, body: (raw && res.headers.get('content-type')?.includes('json') ? JSON.parse(raw) : raw) as T };
    };
    const createJob = async (body: Record<string, unknown>): Promise<TrainingJob> => {
      const r = await api<TrainingJob>('/api/v1/jobs', { method: 'POST', json: { image: SKLEARN_IMAGE, outputUrl: `s3://out/${String(body.name)}/`, ...body } });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
      return r.body;
    };
    const version = async (jobId: string, v = 'V0001'): Promise<TrainingJobVersion> => (await api<TrainingJobVersion>(`/api/v1/jobs/${jobId}/versions/${v}`)).body;
    const until = async (jobId: string, want: string[], v = 'V0001'): Promise<TrainingJobVersion> =>
      waitFor(async () => {
        const s = await version(jobId, v);
        return want.includes(s.status) ? s : undefined;
      }, `${jobId} ${v} in ${want.join('/')}`, timeout, 100);
    const log = async (jobId: string, v = 'V0001', task = 0): Promise<string> => (await api<string>(`/api/v1/jobs/${jobId}/versions/${v}/logs?task=${task}`)).body;
    const object = async (bucket: string, key: string): Promise<Buffer> => buffer(await objects.get(bucket, key));

    it('should train the model of a notebook submitted from the API, outlive its instance, and rerun as V0002', async () => {
      const created = await api<{ id: string }>('/api/v1/notebooks', { method: 'POST', json: { name: 'trainer', image: 'python3.11-cpu-debian12' } });
      expect(created.status).toBe(201);
      const nb = created.body.id;
      await waitFor(async () => (await api<{ status: string }>(`/api/v1/notebooks/${nb}`)).body.status === 'RUNNING', 'instance RUNNING', 60_000);
      const put = (path: string, model: unknown) => api(`/notebooks/${nb}/api/contents/${path}`, { method: 'PUT', json: model });
      expect((await put('iris', { type: 'directory' })).status).toBe(201);
      expect((await put('iris/helpers.py', { type: 'file', format: 'text', content: "def banner():\n    return 'iris trainer'\n" })).status).toBe(201);
      expect((await put('iris/train.ipynb', { type: 'notebook', format: 'json', content: TRAIN_NOTEBOOK })).status).toBe(201);

      const job = await createJob({ name: 'iris', notebook: { instanceId: nb, path: 'iris/train.ipynb' }, outputUrl: '/out/iris/', logUrl: 's3://logs/iris/', webhook: { url: hookUrl, secret: 'hook-secret-1' } });
      expect(job.version?.source).toEqual({ kind: 'notebook', instanceId: nb, notebook: 'iris/train.ipynb' });
      expect(job.version?.bootFile).toBe('train.py');
      expect(job.notices?.[0]).toContain('save as image');
      // The job outlives the instance that submitted it.
      expect((await api(`/api/v1/notebooks/${nb}/stop`, { method: 'POST' })).status).toBe(202);

      const done = await until(job.id, ['SUCCEEDED', 'FAILED']);
      const text1 = await log(job.id);
      expect(done.status, `${done.statusReason}\n${text1}`).toBe('SUCCEEDED');
      expect(done.outputUrl).toBe('s3://out/iris/V0001/');
      expect(text1).toContain('iris trainer');
      expect(text1).toMatch(/accuracy=0\.9\d\d/);
      expect(text1).toContain('train url s3://out/iris/V0001/');
      const model = await object('out', 'iris/V0001/model.pkl');
      expect(model.length).toBeGreaterThan(100);
      expect(model[0]).toBe(0x80); // a pickle
      expect((await object('logs', 'iris/V0001/task-0.log')).toString()).toContain('accuracy=');

      const v2 = await api<TrainingJobVersion>(`/api/v1/jobs/${job.id}/versions`, { method: 'POST', json: { parameters: { note: 'second' } } });
      expect(v2.status).toBe(201);
      expect(v2.body.version).toBe('V0002');
      expect((await until(job.id, ['SUCCEEDED', 'FAILED'], 'V0002')).status).toBe('SUCCEEDED');
      expect((await object('out', 'iris/V0002/model.pkl')).length).toBeGreaterThan(100);
      const versions = await api<{ items: TrainingJobVersion[] }>(`/api/v1/jobs/${job.id}/versions`);
      expect(versions.body.items.map(v => [v.version, v.status])).toEqual([['V0002', 'SUCCEEDED'], ['V0001', 'SUCCEEDED']]);

      // Webhooks: both versions' events, in order, signed, each delivered after one retry.
      await waitFor(async () => hooks.filter(h => h.body.job && (h.body.job as { id: string }).id === job.id).length >= 8, 'webhooks', 15_000);
      const mine = hooks.filter(h => (h.body.job as { id: string }).id === job.id && h.body.version === 'V0001');
      expect([...new Set(mine.map(h => h.event))]).toEqual(['OnJobRunning', 'OnJobSucceeded']);
      expect(mine.filter(h => h.event === 'OnJobSucceeded')).toHaveLength(2);
      for (const h of mine) expect(h.signature).toBe(`sha256=${createHmac('sha256', 'hook-secret-1').update(JSON.stringify(h.body)).digest('hex')}`);
      expect(mine.find(h => h.event === 'OnJobSucceeded')!.body).toMatchObject({ status: 'SUCCEEDED', outputUrl: 's3://out/iris/V0001/', exitCode: 0 });
      await waitFor(async () => (await api<{ status: string }>(`/api/v1/notebooks/${nb}`)).body.status === 'STOPPED', 'instance STOPPED', 30_000);
      expect((await api(`/api/v1/notebooks/${nb}`, { method: 'DELETE' })).status).toBe(204);
    });

    it('should fail a script that raises, with its traceback in the log', async () => {
      const job = await createJob({ name: 'failing', codeUrl: 's3://code/fail/', bootFile: 'train.py', webhook: { url: hookUrl, events: ['OnJobFailed'] } });
      const v = await until(job.id, ['SUCCEEDED', 'FAILED']);
      expect(v.status).toBe('FAILED');
      expect(v.statusReason).toContain('exited with code 1');
      expect(v.exitCode).toBe(1);
      // Following the log of an ended version returns all of it and ends.
      const followed = (await api<string>(`/api/v1/jobs/${job.id}/versions/V0001/logs?follow=true`)).body;
      for (const t of ['about to fail', 'Traceback (most recent call last)', 'ZeroDivisionError: division by zero']) expect(followed).toContain(t);
      await waitFor(async () => hooks.some(h => h.event === 'OnJobFailed' && (h.body.job as { id: string }).id === job.id), 'OnJobFailed', 15_000);
    });

    it('should cancel a long job, which then leaves the scheduler', async () => {
      const job = await createJob({ name: 'long', codeUrl: 's3://code/long/', bootFile: 'train.py' });
      await until(job.id, ['RUNNING']);
      // The log streams while the job runs (follow=true), and the stream ends with the version.
      const follow = await gw.api(`/api/v1/jobs/${job.id}/versions/V0001/logs?follow=true`, { token: gw.adminToken });
      const reader = follow.body!.getReader();
      const decoder = new TextDecoder();
      let streamed = '';
      while (!streamed.includes('tick 3')) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += decoder.decode(value, { stream: true });
      }
      expect(streamed).toContain('tick 3');
      const stopped = await api<TrainingJobVersion>(`/api/v1/jobs/${job.id}/versions/V0001/stop`, { method: 'POST' });
      expect(stopped.status).toBe(200);
      expect(stopped.body.status).toBe('CANCELED');
      expect(stopped.body.statusReason).toBe('stopped by admin');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        streamed += decoder.decode(value, { stream: true });
      }
      expect(streamed).toMatch(/being canceled/);
      await waitFor(() => o.gone(gw, `${job.id}-V0001`), 'the scheduler to drop it', 30_000, 200);
      const again = await api<{ code: string; message: string }>(`/api/v1/jobs/${job.id}/versions/V0001/stop`, { method: 'POST' });
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('NB_ERR_JOB_STATE');
      expect(again.body.message).toContain('CANCELED');
    });

    it('should give each of two tasks its index and both hosts, which they reach', async () => {
      const job = await createJob({ name: 'dist', codeUrl: 's3://code/dist/', bootFile: 'train.py', nodeCount: 2, outputUrl: 's3://out/dist/' });
      const v = await until(job.id, ['SUCCEEDED', 'FAILED']);
      expect(v.status, `${v.statusReason}\n${await log(job.id)}\n${await log(job.id, 'V0001', 1)}`).toBe('SUCCEEDED');
      const t0 = JSON.parse((await object('out', 'dist/V0001/task-0.json')).toString()) as { index: number; number: number; hosts: string[]; heard: number[] };
      const t1 = JSON.parse((await object('out', 'dist/V0001/task-1.json')).toString()) as typeof t0;
      expect([t0.index, t1.index]).toEqual([0, 1]);
      expect(t0.number).toBe(2);
      expect(t0.hosts).toHaveLength(2);
      expect(t1.hosts).toEqual(t0.hosts);
      expect(new Set(t0.hosts).size).toBe(2);
      expect(t0.heard).toEqual([1]);
      expect(t1.heard).toEqual([0]);
      expect(await log(job.id, 'V0001', 0)).toContain('task 0 of 2');
      expect(await log(job.id, 'V0001', 1)).toContain('task 1 of 2');
      expect(v.tasks.map(t => [t.index, t.state, t.exitCode])).toEqual([[0, 'finished', 0], [1, 'finished', 0]]);
    });

    it('should finish a job that runs across a gateway restart', async () => {
      const job = await createJob({ name: 'restart', codeUrl: 's3://code/short/', bootFile: 'train.py', parameters: { sleep: 4, tag: 'survived', blob_mb: 12 } });
      await until(job.id, ['RUNNING']);
      const dataDir = gw.dataDir;
      await gw.stop({ keepData: true });
      gw = await start(dataDir);
      const v = await until(job.id, ['SUCCEEDED', 'FAILED']);
      expect(v.status, `${v.statusReason}\n${await log(job.id)}`).toBe('SUCCEEDED');
      expect((await object('out', 'restart/V0001/result.txt')).toString()).toBe('survived');
      // Outputs larger than the API's 1 MiB body limit stream through (a checkpoint in a subdirectory).
      expect((await objects.head('out', 'restart/V0001/ckpt/blob.bin')).size).toBe(12 << 20);
    });
  });
}

