import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Errors } from '../src/errors';
import { INSTALL_ROOT } from './utils/app';

describe('error catalogue', () => {
  const entries = Object.values(Errors);

  it('should use each code once', () => {
    const codes = entries.map(e => e.code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('should document every code in docs/errors.md', () => {
    const doc = readFileSync(join(INSTALL_ROOT, 'docs', 'errors.md'), 'utf8');
    const missing = entries.map(e => e.code).filter(c => !doc.includes(`\`${c}\``));
    expect(missing).toEqual([]);
  });

  it('should use 4xx or 5xx statuses and format their templates', () => {
    for (const e of entries) expect(e.statusCode).toBeGreaterThanOrEqual(400);
    const made = Errors.INSTANCE_QUOTA(10, 10);
    expect(made.message).toContain('10 of 10');
    expect(made.statusCode).toBe(403);
  });
});
