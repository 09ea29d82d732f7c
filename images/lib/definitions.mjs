/**
 * Image definitions from `images/catalogue.json`: what each image is built from, the hash that
 * caches its build, and a lint of its Dockerfile. Used by `images/build` and by the tests, so
 * definitions that cannot be built here (CUDA, CANN) are still parsed and checked.
 *
 * Plain ESM with JSDoc (no build step): `images/build` runs before anything is compiled.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** The label that carries a definition's hash on the built image. */
export const HASH_LABEL = 'nbgateway.definition-hash';
/** Every image we build carries this label (value: the definition name). */
export const NAME_LABEL = 'nbgateway.image';
/** Files every Dockerfile build gets next to its own context (`common/…`). */
export const COMMON_DIR = 'common';

/**
 * @typedef {object} Definition
 * @property {string} name
 * @property {string} ref        Docker reference the build tags.
 * @property {'base'|'preset'|'auxiliary'} role
 * @property {'debootstrap'|'dockerfile'} kind
 * @property {string | undefined} from          Definition this one builds on (dockerfile kind).
 * @property {string | undefined} requiresBase  Vendor image it builds on (not built here).
 * @property {string | undefined} context       Directory under images/ (dockerfile kind).
 * @property {{suite: string, variant: string, packages: string, setup: string} | undefined} debootstrap
 * @property {string[]} chips
 * @property {string[]} files    Files (relative to images/) whose content defines the image.
 */

/**
 * Loads every definition of the catalogue.
 * @param {string} imagesDir - the `images/` directory.
 * @returns {Definition[]}
 * @throws Error naming the entry and field that is wrong.
 */
export function loadDefinitions(imagesDir) {
  const file = join(imagesDir, 'catalogue.json');
  const raw = JSON.parse(readFileSync(file, 'utf8'));
  /** @type {Definition[]} */
  const defs = [];
  const add = (entry, role, i) => {
    const where = `${file}: ${role}[${i}] (${entry?.name ?? '?'})`;
    if (!entry || typeof entry.name !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/.test(entry.name)) throw new Error(`${where}: name must be [a-z0-9._-]+`);
    if (defs.some(d => d.name === entry.name)) throw new Error(`${where}: name is repeated`);
    const build = entry.build;
    if (!build || typeof build !== 'object') throw new Error(`${where}: build is missing`);
    const ref = role === 'preset' ? `nbgateway/${entry.name}:latest` : entry.ref;
    if (typeof ref !== 'string' || !/^[a-z0-9./_-]+:[A-Za-z0-9._-]+$/.test(ref)) throw new Error(`${where}: ref must be repository:tag`);
    const chips = role === 'preset' ? entry.chips : ['cpu'];
    if (build.debootstrap) {
      const d = build.debootstrap;
      for (const k of ['suite', 'variant', 'packages', 'setup']) {
        if (typeof d[k] !== 'string' || !d[k]) throw new Error(`${where}: build.debootstrap.${k} must be a non-empty string`);
      }
      defs.push({ name: entry.name, ref, role, kind: 'debootstrap', from: undefined, requiresBase: undefined, context: undefined, debootstrap: d, chips, files: [d.packages, d.setup] });
      return;
    }
    if (typeof build.context !== 'string') throw new Error(`${where}: build.context must name a directory under images/`);
    const hasFrom = typeof build.from === 'string';
    const hasVendor = typeof build.requiresBase === 'string';
    if (hasFrom === hasVendor) throw new Error(`${where}: build needs exactly one of "from" (a definition here) and "requiresBase" (a vendor image)`);
    let files;
    try {
      files = listFiles(imagesDir, build.context);
    } catch {
      throw new Error(`${where}: build context images/${build.context} does not exist`);
    }
    if (!files.includes(`${build.context}/Dockerfile`)) throw new Error(`${where}: images/${build.context}/Dockerfile is missing`);
    defs.push({
      name: entry.name, ref, role, kind: 'dockerfile', from: hasFrom ? build.from : undefined,
      requiresBase: hasVendor ? build.requiresBase : undefined, context: build.context, debootstrap: undefined, chips,
      files: [...files, ...listFiles(imagesDir, COMMON_DIR)]
    });
  };
  (raw.bases ?? []).forEach((e, i) => add(e, 'base', i));
  if (!Array.isArray(raw.images)) throw new Error(`${file}: "images" must be an array`);
  raw.images.forEach((e, i) => add(e, 'preset', i));
  (raw.auxiliary ?? []).forEach((e, i) => add(e, 'auxiliary', i));
  for (const d of defs) {
    if (d.from && !defs.some(p => p.name === d.from)) throw new Error(`${file}: ${d.name}: build.from "${d.from}" is not a definition in the catalogue`);
  }
  for (const d of defs) ancestry(defs, d.name); // throws on cycles
  return defs;
}

/**
 * The definition and those it builds on, parents first.
 * @param {Definition[]} defs
 * @param {string} name
 * @returns {Definition[]}
 */
export function ancestry(defs, name) {
  const chain = [];
  const seen = new Set();
  for (let d = defs.find(x => x.name === name); d; d = d.from ? defs.find(x => x.name === d.from) : undefined) {
    if (seen.has(d.name)) throw new Error(`catalogue: ${name} builds on itself through ${[...seen].join(' → ')}`);
    seen.add(d.name);
    chain.unshift(d);
  }
  if (chain.length === 0) throw new Error(`catalogue: no definition named "${name}"; known: ${defs.map(d => d.name).join(', ')}`);
  return chain;
}

/**
 * The cache key of a definition: its files and its parents' keys, so changing the base
 * rebuilds everything on it.
 * @param {string} imagesDir
 * @param {Definition[]} defs
 * @param {string} name
 * @returns {string} 16 hex characters.
 */
export function definitionHash(imagesDir, defs, name) {
  let parent = '';
  for (const d of ancestry(defs, name)) {
    const h = createHash('sha256').update(`${d.name}\0${d.ref}\0${d.kind}\0${d.requiresBase ?? ''}\0${parent}\0`);
    if (d.debootstrap) h.update(JSON.stringify(d.debootstrap));
    for (const f of [...d.files].sort()) h.update(`${f}\0`).update(readFileSync(join(imagesDir, f))).update('\0');
    parent = h.digest('hex').slice(0, 16);
  }
  return parent;
}

/**
 * Checks a Dockerfile against what the runtime driver relies on: the parent comes from the
 * build argument BASE (vendor images: defaulting to the vendor image), the user ma-user
 * (uid 1000), tini as the entrypoint, ~/work, and an ipykernel kernelspec "python3" (engine
 * images also "python3-plain", the plain Python environment).
 * @param {string} text - the Dockerfile.
 * @param {Definition} def
 * @returns {string[]} problems; empty when it is fine.
 */
export function lintDockerfile(text, def) {
  const problems = [];
  const instructions = parseDockerfile(text, problems);
  const froms = instructions.filter(i => i.op === 'FROM');
  const firstFrom = instructions.findIndex(i => i.op === 'FROM');
  if (froms.length !== 1) problems.push(`needs exactly one FROM (single stage), found ${froms.length}`);
  else if (!/^\$\{?BASE\}?(\s|$)/.test(froms[0].args)) problems.push(`FROM must use the build argument: "FROM \${BASE}", found "FROM ${froms[0].args}"`);
  const baseArg = instructions.slice(0, Math.max(firstFrom, 0)).find(i => i.op === 'ARG' && /^BASE(=|$)/.test(i.args));
  if (!baseArg) problems.push('declare "ARG BASE=<default parent>" before FROM');
  else if (def.requiresBase && baseArg.args !== `BASE=${def.requiresBase}`) problems.push(`ARG BASE must default to the vendor image ${def.requiresBase}`);
  const users = instructions.filter(i => i.op === 'USER');
  const lastUser = users.at(-1)?.args;
  if (lastUser !== 'ma-user' && lastUser !== '1000' && lastUser !== '1000:100') problems.push(`the last USER must be ma-user (uid 1000), found ${lastUser ?? 'none'}`);
  const workdir = instructions.filter(i => i.op === 'WORKDIR').at(-1)?.args;
  if (workdir !== '/home/ma-user/work') problems.push(`WORKDIR must be /home/ma-user/work (the volume mount point), found ${workdir ?? 'none'}`);
  const entry = instructions.filter(i => i.op === 'ENTRYPOINT').at(-1)?.args ?? '';
  if (!/tini/.test(entry)) problems.push('ENTRYPOINT must run tini (the init that reaps kernels)');
  const runs = instructions.filter(i => i.op === 'RUN').map(i => i.args).join('\n');
  if (def.role === 'preset') {
    if (!/kernelspec\.sh\s+python3\s/.test(runs)) problems.push('install the engine kernelspec: kernelspec.sh python3 <python> "<display name>"');
    if (def.name.split('-')[0] !== 'python3.11' && !/kernelspec\.sh\s+python3-plain\s/.test(runs)) {
      problems.push('engine images also install the plain Python kernelspec: kernelspec.sh python3-plain /usr/bin/python3 …');
    }
    if (def.requiresBase) {
      if (!/useradd[^\n]*(-u|--uid)\s*1000[^\n]*ma-user/.test(runs)) problems.push('vendor images must create ma-user with uid 1000 (useradd --uid 1000 … ma-user)');
      // Package names differ between distributions (EulerOS ships sftp-server in openssh-server).
      const tools = { tini: /\btini\b/, 'an SFTP server': /openssh-(sftp-)?server/, git: /\bgit\b/, rsync: /\brsync\b/ };
      for (const [tool, re] of Object.entries(tools)) {
        if (!re.test(runs)) problems.push(`vendor images must install ${tool}`);
      }
    }
  }
  const copies = instructions.filter(i => i.op === 'COPY' || i.op === 'ADD');
  for (const c of copies) {
    const srcs = c.args.replace(/--\S+/g, '').trim().split(/\s+/).slice(0, -1);
    for (const s of srcs) {
      if (!s.startsWith(`${COMMON_DIR}/`) && !s.startsWith(`${def.context}/`)) problems.push(`COPY ${s}: sources are ${def.context}/… or ${COMMON_DIR}/… (the build context is images/)`);
    }
  }
  return problems;
}

const OPS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

/**
 * Splits a Dockerfile into instructions (continuations joined, comments dropped).
 * @param {string} text
 * @param {string[]} problems - unknown instructions are reported here.
 * @returns {{op: string, args: string, line: number}[]}
 */
export function parseDockerfile(text, problems = []) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].trim();
    if (!line || line.startsWith('#')) continue;
    const start = i + 1;
    while (line.endsWith('\\') && i + 1 < lines.length) {
      const next = lines[++i].trim();
      line = line.slice(0, -1).trimEnd() + (next.startsWith('#') ? '' : ' ' + next);
    }
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || !OPS.has(m[1].toUpperCase())) {
      problems.push(`line ${start}: not a Dockerfile instruction: ${line.slice(0, 60)}`);
      continue;
    }
    out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start });
  }
  return out;
}

/** @param {string} imagesDir @param {string} dir @returns {string[]} files relative to imagesDir */
function listFiles(imagesDir, dir) {
  const out = [];
  const walk = d => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(imagesDir, p));
    }
  };
  walk(join(imagesDir, dir));
  return out;
}
