#!/usr/bin/env node
/**
 * Builds the runnable bundles with esbuild:
 *
 * - `kernel-gateway/dist/`: a self-contained agent (main.cjs plus only the native modules it
 *   loads at run time) that runtime drivers mount read-only into instances;
 * - `server/dist/main.cjs`: the gateway (its npm dependencies stay in node_modules).
 *
 * Usage: node scripts/build.mjs [kernel-gateway|server|web ...]   (default: all)
 */
import { build } from 'esbuild';
import { cp, rm, writeFile, stat, readFile, readdir, rename, mkdir, chmod } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const targets = process.argv.slice(2);
const want = name => targets.length === 0 || targets.includes(name);

/** Native packages the agent loads at run time, and the files of each that it needs. */
const AGENT_NATIVE = {
  zeromq: ['package.json', 'lib', 'build/manifest.json', `build/linux/${process.arch}`],
  'cmake-ts': ['package.json', 'build'],
  'node-pty': ['package.json', 'lib', 'build/Release/pty.node']
};

/** A package's directory: hoisted, or nested under the package that needs it. */
async function packageDir(pkg) {
  for (const dir of [join(root, 'node_modules', pkg), ...Object.keys(AGENT_NATIVE).map(p => join(root, 'node_modules', p, 'node_modules', pkg))]) {
    try {
      await stat(join(dir, 'package.json'));
      return dir;
    } catch {
      /* try the next place */
    }
  }
  throw new Error(`package ${pkg} is not installed; run npm ci`);
}

/** esbuild with the options every Node bundle here shares (CommonJS for Node 20). */
function bundle(entry, outfile, extra = {}) {
  return build({ entryPoints: [entry], outfile, bundle: true, platform: 'node', target: 'node20', format: 'cjs', legalComments: 'none', logLevel: 'warning', ...extra });
}

/** A hash of the given files and of every file under the given directories (and the lockfile). */
async function sourceHash(paths) {
  const h = createHash('sha256');
  const walk = async dir => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (err.code === 'ENOTDIR') {
        h.update(dir);
        h.update(await readFile(dir));
      }
      return;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else {
        h.update(p);
        h.update(await readFile(p));
      }
    }
  };
  for (const d of paths) await walk(join(root, d));
  h.update(await readFile(join(root, 'package-lock.json')));
  h.update(await readFile(fileURLToPath(import.meta.url)));
  return h.digest('hex');
}

/**
 * Builds into a fresh directory and swaps it in, so processes starting from `dist` (agents
 * launched by tests running at the same time) never see a half-written tree. Skips the build
 * when the sources are unchanged.
 */
async function buildInto(out, sources, fill) {
  const hash = await sourceHash(sources);
  const stamp = join(out, '.build-hash');
  if (!process.env.NBG_FORCE_BUILD && (await readFile(stamp, 'utf8').catch(() => '')) === hash) return false;
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await fill(tmp);
  await writeFile(join(tmp, '.build-hash'), hash);
  const old = `${out}.old-${process.pid}`;
  await rename(out, old).catch(() => undefined);
  await rename(tmp, out);
  await rm(old, { recursive: true, force: true });
  return true;
}

async function buildKernelGateway() {
  const dist = join(root, 'kernel-gateway', 'dist');
  return buildInto(dist, ['kernel-gateway/src', 'server/src/jobs/launcher', 'server/src/storage', 'server/src/ssh/agent-protocol.ts', 'server/src/lifecycle.ts', 'server/src/config-flags.ts'], out => fillKernelGateway(out));
}

/**
 * The S3 store (and the AWS SDK it needs, ~1.5 MB) goes into `s3-store.cjs` next to the agent,
 * which loads it only when an instance uses S3: every other agent starts without it.
 */
const S3_STORE = join(root, 'server/src/storage/s3-object-store.ts');
const s3StoreApart = {
  name: 's3-store-apart',
  setup(b) {
    b.onResolve({ filter: /\/s3-object-store$/ }, args =>
      join(args.resolveDir, args.path) + '.ts' === S3_STORE && args.kind === 'dynamic-import' ? { path: './s3-store.cjs', external: true } : undefined);
  }
};

async function fillKernelGateway(out) {
  await bundle(join(root, 'kernel-gateway/src/main.ts'), join(out, 'main.cjs'), { external: [...Object.keys(AGENT_NATIVE), 'bufferutil', 'utf-8-validate'], plugins: [s3StoreApart], sourcemap: 'linked' });
  await bundle(S3_STORE, join(out, 's3-store.cjs'));
  // The training-job launcher (issue 9) ships next to the agent: Slurm nodes and job
  // containers find both in one directory. Node built-ins only.
  await bundle(join(root, 'server/src/jobs/launcher/main.ts'), join(out, 'nbg-job.cjs'), { sourcemap: 'linked' });
  // nbg-sync (issue 7): Sync OBS, push and pull from a terminal or a notebook in the instance;
  // the agent puts bin/ on its children's PATH.
  await bundle(join(root, 'kernel-gateway/src/platform/sync/nbg-sync.ts'), join(out, 'nbg-sync.cjs'));
  await mkdir(join(out, 'bin'), { recursive: true });
  await writeFile(join(out, 'bin', 'nbg-sync'), '#!/bin/sh\nexec "${NBG_NODE:-node}" "$(dirname "$(readlink -f "$0")")/../nbg-sync.cjs" "$@"\n', { mode: 0o755 });
  for (const [pkg, files] of Object.entries(AGENT_NATIVE)) {
    const src = await packageDir(pkg);
    for (const f of files) {
      const from = join(src, f);
      try {
        await stat(from);
      } catch {
        continue; // e.g. node-pty not built yet: terminals report it at run time
      }
      await cp(from, join(out, 'node_modules', pkg, f), { recursive: true });
    }
  }
  await writeFile(join(out, 'package.json'), JSON.stringify({ name: 'nbg-kernel-gateway-dist', private: true, type: 'commonjs' }));
}

async function buildServer() {
  return buildInto(join(root, 'server', 'dist'), ['server/src', 'server/api'], out => fillServer(out));
}

async function fillServer(out) {
  await bundle(join(root, 'server/src/main.ts'), join(out, 'main.cjs'), { packages: 'external', sourcemap: 'linked' });
  // The nbg CLI (server/package.json "bin").
  await bundle(join(root, 'server/src/cli/nbg.ts'), join(out, 'nbg.cjs'), { packages: 'external', banner: { js: '#!/usr/bin/env node' } });
  await chmod(join(out, 'nbg.cjs'), 0o755);
  // The REST contract the gateway serves and validates against, next to the bundle.
  await cp(join(root, 'server/api/openapi.yaml'), join(out, 'openapi.yaml'));
}

async function buildWeb() {
  const script = join(root, 'web', 'build.mjs');
  try {
    await stat(script);
  } catch {
    return;
  }
  const mod = await import(script);
  await mod.buildWeb();
}

const started = Date.now();
if (want('kernel-gateway')) await buildKernelGateway();
if (want('server')) await buildServer();
if (want('web')) await buildWeb();
process.stdout.write(`build: done in ${Date.now() - started} ms\n`);
