import { afterEach, describe, expect, it } from 'vitest';
import { FakeDriver } from '../../src/drivers/fake/fake-driver';
import type { NotebookInstance } from '../../src/api/types';
import { startTestApp, waitFor, type TestApp } from '../utils/app';
import { startEchoAgent, type EchoAgent } from '../utils/echo-agent';
import WebSocket from 'ws';

const IMAGE = 'python3.11-cpu-debian12';

/** The value of one sample line, e.g. `nbg_instances{state="RUNNING"}`. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find(l => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('metrics', () => {
  let t: TestApp | undefined;
  let agent: EchoAgent | undefined;
  afterEach(async () => {
    await t?.dispose();
    await agent?.dispose();
    t = undefined;
    agent = undefined;
  });

  it('should export the issue\'s metrics on their own port', async () => {
    agent = await startEchoAgent();
    t = await startTestApp({ driver: new FakeDriver({ endpoint: agent.endpoint }) });
    const url = t.app.metricsUrl!;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(url).port).not.toBe(new URL(t.url).port);
    // Not on the public listener.
    expect((await t.api('/metrics')).status).toBe(404);

    const inst = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'm', image: IMAGE } })).json()) as NotebookInstance;
    await waitFor(async () => ((await (await t!.api(`/api/v1/notebooks/${inst.id}`, { token: t!.adminToken })).json()) as NotebookInstance).status === 'RUNNING', 'RUNNING');
    expect((await t.api(`/notebooks/${inst.id}/api/status`, { token: t.adminToken })).status).toBe(200);
    expect((await t.api('/notebooks/zzzzzzzzzzzz/api/status', { token: t.adminToken })).status).toBe(404);
    const ws = new WebSocket(`${t.url.replace(/^http/, 'ws')}/notebooks/${inst.id}/api/kernels/k/channels`, { headers: { Authorization: `Bearer ${t.adminToken}` } });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    t.app.metrics.sshSessionOpened();
    t.app.metrics.sshSessionOpened();
    t.app.metrics.sshSessionClosed();
    t.app.metrics.syncBytes('pull', 1234);
    t.app.metrics.setJobsSource(async () => ({ RUNNING: 2, SUCCEEDED: 5 }));

    const res = await fetch(url);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(sample(text, 'nbg_instances{state="RUNNING"}')).toBe(1);
    expect(sample(text, 'nbg_instances{state="STOPPED"}')).toBe(0);
    expect(sample(text, 'nbg_instance_start_seconds_count{driver="fake",outcome="success"}')).toBe(1);
    expect(sample(text, 'nbg_proxy_requests_total{code="200"}')).toBe(1);
    expect(sample(text, 'nbg_proxy_requests_total{code="404"}')).toBe(1);
    expect(sample(text, 'nbg_proxy_websockets_open')).toBe(1);
    expect(sample(text, 'nbg_ssh_sessions_open')).toBe(1);
    expect(sample(text, 'nbg_ssh_sessions_total')).toBe(2);
    expect(sample(text, 'nbg_sync_bytes_total{direction="pull"}')).toBe(1234);
    expect(sample(text, 'nbg_jobs{state="RUNNING"}')).toBe(2);
    expect(sample(text, 'nbg_jobs{state="SUCCEEDED"}')).toBe(5);
    expect(text).toContain('# HELP nbg_process_cpu_seconds_total');
    ws.close();
    await waitFor(async () => sample(await (await fetch(url)).text(), 'nbg_proxy_websockets_open') === 0, 'the WebSocket to close');
  });

  it('should count failed starts and stay off with metricsPort -1', async () => {
    t = await startTestApp({ driver: FakeDriver.failing('no capacity') });
    const inst = (await (await t.api('/api/v1/notebooks', { method: 'POST', token: t.adminToken, json: { name: 'f', image: IMAGE } })).json()) as NotebookInstance;
    await waitFor(async () => ((await (await t!.api(`/api/v1/notebooks/${inst.id}`, { token: t!.adminToken })).json()) as NotebookInstance).status === 'ERROR', 'ERROR');
    const text = await (await fetch(t.app.metricsUrl!)).text();
    expect(sample(text, 'nbg_instance_start_seconds_count{driver="fake",outcome="failure"}')).toBe(1);
    expect(sample(text, 'nbg_instances{state="ERROR"}')).toBe(1);
    await t.dispose();
    t = await startTestApp({ driver: new FakeDriver(), config: { metricsPort: -1 } });
    expect(t.app.metricsUrl).toBeNull();
  });
});
