/**
 * Global setup of the browser suite: build everything it runs (gateway, agent, console and
 * JupyterLab), and check that the browser is there.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { CHROMIUM, ROOT } from './browser';

export default function setup(): void {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/deps/test.apt; ./dev test does it)`);
  }
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { stdio: 'inherit' });
}
