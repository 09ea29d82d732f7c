/**
 * Global setup of the cross-component suites: build the bundles the tests run (the gateway
 * and the kernel gateway), so a fresh clone tests what it ships.
 */
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export default function setup(): void {
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), 'kernel-gateway', 'server'], { stdio: 'inherit' });
}
