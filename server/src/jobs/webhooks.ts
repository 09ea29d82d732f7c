/**
 * Webhook delivery of job events (`OnJobRunning`, `OnJobSucceeded`, `OnJobFailed`, SPEC §8)
 * from a persistent outbox: the job store writes a delivery in the same transaction as the
 * state change; this dispatcher POSTs it, retrying with exponential backoff and jitter up to
 * a bounded number of attempts. Deliveries survive a gateway restart, and a claim with a
 * lease keeps two replicas from sending the same one at once.
 *
 * #### Notes
 * - At-least-once: a receiver may see a delivery twice (a crash after sending, before
 *   recording); `X-NBG-Delivery` is stable across attempts so it can de-duplicate.
 * - With a secret, `X-NBG-Signature: sha256=<hex HMAC-SHA256 of the body>` (GitHub's scheme).
 * - Addresses on loopback, private and link-local networks are refused unless
 *   `webhookAllowPrivate` is set, so a job owner cannot make the gateway call internal services.
 */
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ISqlDatabase } from '../db/database';
import type { Logger } from '../logger';

export interface WebhookDispatcherOptions {
  db: ISqlDatabase;
  log: Logger;
  /** Attempts before a delivery is given up. */
  maxAttempts: number;
  /** Delay before the first retry; doubles each attempt (with jitter) up to `maxDelayMs`. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Time a receiver has to answer one attempt. */
  timeoutMs: number;
  allowPrivate: boolean;
  /** How often due deliveries are looked for (a new event also wakes the dispatcher). */
  intervalMs?: number;
}

interface DeliveryRow {
  id: string;
  event: string;
  url: string;
  secret: string | null;
  payload: string;
  attempts: number;
}

export class WebhookDispatcher {
  private _timer: NodeJS.Timeout | null = null;
  private _running: Promise<void> | null = null;
  private _again = false;
  private _disposed = false;

  constructor(private readonly _o: WebhookDispatcherOptions) {}

  start(): void {
    this._schedule();
  }

  /** Looks for due deliveries now (after a state change enqueued one). */
  kick(): void {
    if (this._disposed) return;
    if (this._running) {
      this._again = true;
      return;
    }
    this._running = this._drain()
      .catch(err => this._o.log.warn({ err }, 'webhook dispatch failed'))
      .finally(() => {
        this._running = null;
        if (this._again) {
          this._again = false;
          this.kick();
        }
      });
  }

  private _schedule(): void {
    if (this._disposed) return;
    this._timer = setTimeout(() => {
      this.kick();
      this._schedule();
    }, this._o.intervalMs ?? 500);
    this._timer.unref();
  }

  private async _drain(): Promise<void> {
    const now = Date.now();
    const due = await this._o.db.all<DeliveryRow>(
      `SELECT id, event, url, secret, payload, attempts FROM job_webhook_deliveries
       WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
       ORDER BY next_attempt_at LIMIT 20`,
      [now]
    );
    await Promise.all(due.map(d => this._attempt(d)));
  }

  private async _attempt(d: DeliveryRow): Promise<void> {
    const now = Date.now();
    const { changes } = await this._o.db.run(
      'UPDATE job_webhook_deliveries SET claimed_until = $1 WHERE id = $2 AND delivered_at IS NULL AND given_up_at IS NULL AND (claimed_until IS NULL OR claimed_until < $3)',
      [now + this._o.timeoutMs + 5_000, d.id, now]
    );
    if (changes !== 1) return;
    const attempts = Number(d.attempts) + 1;
    const log = this._o.log.child({ delivery: d.id, event: d.event });
    let error: string | null = null;
    try {
      await checkDestination(d.url, this._o.allowPrivate);
      const headers: Record<string, string> = {
        'Content-Type': 'application/json',
        'User-Agent': 'nbgateway-webhook/1',
        'X-NBG-Event': d.event,
        'X-NBG-Delivery': d.id
      };
      if (d.secret) headers['X-NBG-Signature'] = `sha256=${createHmac('sha256', d.secret).update(d.payload).digest('hex')}`;
      const res = await fetch(d.url, { method: 'POST', headers, body: d.payload, redirect: 'manual', signal: AbortSignal.timeout(this._o.timeoutMs) });
      await res.body?.cancel().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `the receiver answered ${res.status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    if (error === null) {
      await this._o.db.run('UPDATE job_webhook_deliveries SET delivered_at = $1, attempts = $2, claimed_until = NULL, last_error = NULL WHERE id = $3', [Date.now(), attempts, d.id]);
      log.info({ attempts }, 'webhook delivered');
      return;
    }
    if (attempts >= this._o.maxAttempts) {
      await this._o.db.run('UPDATE job_webhook_deliveries SET given_up_at = $1, attempts = $2, claimed_until = NULL, last_error = $3 WHERE id = $4', [Date.now(), attempts, error, d.id]);
      log.warn({ attempts, error }, 'webhook given up');
      return;
    }
    const delay = retryDelay(attempts, this._o.baseDelayMs, this._o.maxDelayMs);
    await this._o.db.run(
      'UPDATE job_webhook_deliveries SET attempts = $1, next_attempt_at = $2, claimed_until = NULL, last_error = $3 WHERE id = $4',
      [attempts, Date.now() + delay, error, d.id]
    );
    log.info({ attempts, error, retryInMs: Math.round(delay) }, 'webhook failed; will retry');
  }

  async dispose(): Promise<void> {
    if (this._disposed) return;
    this._disposed = true;
    if (this._timer) clearTimeout(this._timer);
    await this._running?.catch(() => undefined);
  }
}

/**
 * Delay before retry number `attempt` (1-based): `base · 2^(attempt-1)`, capped, with "equal
 * jitter" (half fixed, half random) so receivers recovering from an outage are not hit in step.
 */
export function retryDelay(attempt: number, baseMs: number, maxMs: number): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return exp / 2 + Math.random() * (exp / 2);
}

/** Refuses destinations on loopback, private, link-local and unspecified addresses. */
export async function checkDestination(url: string, allowPrivate: boolean): Promise<void> {
  if (allowPrivate) return;
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  const addrs = isIP(host) ? [host] : (await lookup(host, { all: true })).map(a => a.address);
  const bad = addrs.find(isPrivateAddress);
  if (bad) throw new Error(`${host} resolves to ${bad}, a private or local address; webhooks to such addresses are disabled (setting webhookAllowPrivate)`);
}

export function isPrivateAddress(addr: string): boolean {
  const a = addr.toLowerCase().replace(/^::ffff:/, '');
  if (isIP(a) === 4) {
    const [x, y] = a.split('.').map(Number) as [number, number];
    return x === 0 || x === 10 || x === 127 || (x === 169 && y === 254) || (x === 172 && y >= 16 && y <= 31) || (x === 192 && y === 168) || (x === 100 && y >= 64 && y <= 127);
  }
  return a === '::' || a === '::1' || a.startsWith('fc') || a.startsWith('fd') || a.startsWith('fe80');
}
