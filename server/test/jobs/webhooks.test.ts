import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type ISqlDatabase } from '../../src/db/database';
import { migrate } from '../../src/db/migrations';
import { createLogger } from '../../src/logger';
import { WebhookDispatcher, isPrivateAddress, retryDelay } from '../../src/jobs/webhooks';
import { waitFor } from '../utils/app';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

describe('WebhookDispatcher', () => {
  let db: ISqlDatabase | undefined;
  let server: Server | undefined;
  let dispatcher: WebhookDispatcher | undefined;
  afterEach(async () => {
    await dispatcher?.dispose();
    await new Promise(r => (server ? server.close(r) : r(null)));
    await db?.dispose();
    dispatcher = undefined;
    server = undefined;
  });

  /** A loopback receiver that answers `statuses` in turn (then 200). */
  async function receiver(statuses: number[]): Promise<{ url: string; got: Received[] }> {
    const got: Received[] = [];
    server = createServer((req, res) => {
      let body = '';
      req.on('data', c => (body += c));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(statuses[got.length - 1] ?? 200).end();
      });
    });
    await new Promise<void>(r => server!.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
  }

  async function start(o: { maxAttempts: number; allowPrivate: boolean }): Promise<void> {
    db = await openDatabase('sqlite::memory:');
    await migrate(db);
    dispatcher = new WebhookDispatcher({ db, log: createLogger('silent'), baseDelayMs: 20, maxDelayMs: 100, timeoutMs: 2_000, intervalMs: 20, ...o });
    dispatcher.start();
  }

  async function enqueue(url: string, secret: string | null): Promise<string> {
    await db!.run(
      `INSERT INTO job_webhook_deliveries (id, job_id, version_id, event, url, secret, payload, attempts, next_attempt_at, created_at) VALUES ('d1', 'j', 'j-V0001', 'OnJobSucceeded', $1, $2, $3, 0, 0, 0)`,
      [url, secret, JSON.stringify({ event: 'OnJobSucceeded', version: 'V0001' })]
    );
    dispatcher!.kick();
    return 'd1';
  }

  const row = async () => (await db!.get<{ attempts: number; delivered_at: number | null; given_up_at: number | null; last_error: string | null }>("SELECT * FROM job_webhook_deliveries WHERE id = 'd1'"))!;

  it('should retry with backoff until the receiver accepts, with a stable id and a signature', async () => {
    await start({ maxAttempts: 5, allowPrivate: true });
    const { url, got } = await receiver([500, 503]);
    await enqueue(url, 'webhook-secret');
    await waitFor(async () => (await row()).delivered_at !== null, 'delivered', 5_000, 10);
    expect(got).toHaveLength(3);
    expect((await row()).attempts).toBe(3);
    for (const g of got) {
      expect(g.headers['x-nbg-delivery']).toBe('d1');
      expect(g.headers['x-nbg-event']).toBe('OnJobSucceeded');
      expect(g.headers['x-nbg-signature']).toBe(`sha256=${createHmac('sha256', 'webhook-secret').update(g.body).digest('hex')}`);
    }
    expect(JSON.parse(got[2]!.body)).toMatchObject({ event: 'OnJobSucceeded', version: 'V0001' });
  });

  it('should give up after the last attempt and keep the error', async () => {
    await start({ maxAttempts: 2, allowPrivate: true });
    const { url, got } = await receiver([500, 500, 500]);
    await enqueue(url, null);
    await waitFor(async () => (await row()).given_up_at !== null, 'given up', 5_000, 10);
    expect(got).toHaveLength(2);
    expect((await row()).last_error).toContain('500');
    expect(got[0]!.headers['x-nbg-signature']).toBeUndefined();
  });

  it('should refuse loopback destinations unless allowed', async () => {
    await start({ maxAttempts: 1, allowPrivate: false });
    const { url, got } = await receiver([]);
    await enqueue(url, null);
    await waitFor(async () => (await row()).given_up_at !== null, 'given up', 5_000, 10);
    expect(got).toHaveLength(0);
    expect((await row()).last_error).toContain('private or local address');
  });

  it('should know private addresses and keep delays within their bounds', () => {
    for (const a of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '::1', 'fd00::1', '::ffff:10.0.0.1']) expect(isPrivateAddress(a)).toBe(true);
    for (const a of ['8.8.8.8', '172.32.0.1', '2001:db8::1']) expect(isPrivateAddress(a)).toBe(false);
    for (let i = 0; i < 50; i++) {
      const d = retryDelay(3, 100, 10_000);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
      expect(retryDelay(30, 100, 1_000)).toBeLessThanOrEqual(1_000);
    }
  });
});
