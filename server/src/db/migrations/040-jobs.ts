/**
 * Training jobs (issue 9): jobs, their versions, what each task reported, and the webhook
 * outbox (deliveries survive a gateway restart and are retried with backoff).
 */
import type { Migration } from '../migrations';

export const migration: Migration = {
  id: 40,
  name: 'training jobs, versions, tasks, webhook deliveries',
  sql: [
    `CREATE TABLE jobs (
      id TEXT PRIMARY KEY,
      owner_id TEXT NOT NULL REFERENCES users(id),
      name TEXT NOT NULL,
      description TEXT NOT NULL DEFAULT '',
      webhook TEXT,
      latest_version INTEGER NOT NULL,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      deleted_at BIGINT
    )`,
    `CREATE UNIQUE INDEX jobs_owner_name ON jobs(owner_id, name) WHERE deleted_at IS NULL`,
    `CREATE INDEX jobs_owner ON jobs(owner_id)`,
    `CREATE TABLE job_versions (
      id TEXT PRIMARY KEY,
      job_id TEXT NOT NULL REFERENCES jobs(id),
      version INTEGER NOT NULL,
      status TEXT NOT NULL,
      status_reason TEXT,
      config TEXT NOT NULL,
      scheduler TEXT NOT NULL,
      handle TEXT,
      token TEXT NOT NULL,
      pending TEXT,
      created_at BIGINT NOT NULL,
      updated_at BIGINT NOT NULL,
      submitted_at BIGINT,
      started_at BIGINT,
      finished_at BIGINT,
      exit_code INTEGER,
      deleted_at BIGINT
    )`,
    `CREATE UNIQUE INDEX job_versions_number ON job_versions(job_id, version)`,
    `CREATE UNIQUE INDEX job_versions_token ON job_versions(token)`,
    `CREATE INDEX job_versions_status ON job_versions(status)`,
    `CREATE TABLE job_tasks (
      version_id TEXT NOT NULL REFERENCES job_versions(id) ON DELETE CASCADE,
      task_index INTEGER NOT NULL,
      state TEXT NOT NULL,
      host TEXT,
      port INTEGER,
      exit_code INTEGER,
      message TEXT,
      updated_at BIGINT NOT NULL,
      PRIMARY KEY (version_id, task_index)
    )`,
    `CREATE TABLE job_webhook_deliveries (
      id TEXT PRIMARY KEY,
      job_id TEXT NOT NULL,
      version_id TEXT NOT NULL,
      event TEXT NOT NULL,
      url TEXT NOT NULL,
      secret TEXT,
      payload TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at BIGINT NOT NULL,
      claimed_until BIGINT,
      delivered_at BIGINT,
      given_up_at BIGINT,
      last_error TEXT,
      created_at BIGINT NOT NULL
    )`,
    `CREATE INDEX job_webhook_due ON job_webhook_deliveries(next_attempt_at) WHERE delivered_at IS NULL AND given_up_at IS NULL`,
    `CREATE INDEX job_webhook_version ON job_webhook_deliveries(version_id)`
  ]
};
