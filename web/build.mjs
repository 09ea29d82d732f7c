/**
 * Builds the two browser surfaces with esbuild (`scripts/build.mjs` calls `buildWeb()`):
 *
 * - `web/dist/console/`: the console (index.html, hashed JS and CSS);
 * - `web/dist/lab/`: JupyterLab 4 from the npm `@jupyterlab/*` packages plus our plug-ins in
 *   `extensions/*`: `index.html` (a template the gateway fills with the page config),
 *   `static/` (hashed JS/CSS chunks and assets, served at `/static/lab/`), `themes/` (served at
 *   `<base>lab/api/themes/`), `schemas.json` (settings schemas the gateway serves at
 *   `<base>lab/api/settings`) and `build.json` (what went in, sizes).
 *
 * Every text asset gets a `.gz` twin, so the gateway serves compressed bytes without
 * compressing per request. Skips work when the sources are unchanged; swaps the output in
 * atomically. See /work/shared/notes/jupyterlab-esbuild.md for why each plug-in below exists.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const require = createRequire(join(here, 'package.json'));

/** Extension packages in web/package.json that this build leaves out, and why. */
const EXCLUDED_PACKAGES = new Set([
  // Needs jupyter-lsp on the server (`<base>lsp/status`); the agent has none.
  '@jupyterlab/lsp-extension'
]);

/**
 * Plug-ins left out at run time: written to build.json, which the gateway puts in the page
 * config's `disabledExtensions` (JupyterLab's own mechanism), where the bootstrap reads them.
 */
export const DISABLED_PLUGINS = [
  // Fetches news from the internet and asks about it on first start; instances are offline.
  '@jupyterlab/apputils-extension:announcements',
  // No build system on the server side: the lab is built once, here.
  '@jupyterlab/application-extension:dirty',
  // They need the LSP connection manager of the excluded lsp-extension.
  '@jupyterlab/fileeditor-extension:language-server',
  '@jupyterlab/notebook-extension:language-server',
  // They ask the server for nbconvert's export formats (`<base>api/nbconvert`), which the
  // agent does not serve: an uncaught 404 at every start and an empty "Save and Export" menu.
  '@jupyterlab/notebook-extension:export',
  '@jupyterlab/notebook-extension:update-raw-mimetype'
];

/** Largest SVG inlined into CSS as a data URL (JupyterLab's webpack svg-url-loader rule). */
const SVG_INLINE_MAX = 10 * 1024;

async function exists(p) {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function readJson(p) {
  return JSON.parse(await readFile(p, 'utf8'));
}

/** Our plug-in packages: `extensions/<name>/package.json` with a `jupyterlab` field. */
async function localExtensions() {
  const dir = join(root, 'extensions');
  const out = [];
  for (const name of (await readdir(dir).catch(() => [])).sort()) {
    const pj = join(dir, name, 'package.json');
    if (!(await exists(pj))) continue;
    const pkg = await readJson(pj);
    if (pkg.jupyterlab?.extension || pkg.jupyterlab?.mimeExtension) out.push({ name: pkg.name, dir: join(dir, name), pkg });
  }
  return out;
}

/** Every extension package in the lab: JupyterLab's (from web/package.json) then ours. */
async function labExtensions() {
  const web = await readJson(join(here, 'package.json'));
  const out = [];
  for (const name of Object.keys(web.devDependencies ?? {}).sort()) {
    if (EXCLUDED_PACKAGES.has(name)) continue;
    const pj = require.resolve(`${name}/package.json`);
    const pkg = await readJson(pj);
    if (pkg.jupyterlab?.extension || pkg.jupyterlab?.mimeExtension) out.push({ name, dir: dirname(pj), pkg });
  }
  return [...out, ...(await localExtensions())];
}

/** The `nbg:lab-plugins` module: imports each extension and its styles. */
function pluginsModule(exts) {
  const lines = [];
  const plugins = [];
  const mimes = [];
  exts.forEach((e, i) => {
    lines.push(`import * as m${i} from ${JSON.stringify(e.name)};`);
    const style = e.pkg.styleModule ?? e.pkg.style;
    if (style) lines.push(`import ${JSON.stringify(`${e.name}/${style}`)};`);
    (e.pkg.jupyterlab.mimeExtension ? mimes : plugins).push(`m${i}`);
  });
  lines.push(`export const extensions = [${plugins.join(', ')}];`);
  lines.push(`export const mimeExtensions = [${mimes.join(', ')}];`);
  return lines.join('\n');
}

/** Settings schemas of every extension: `{ "<package>:<file>": schema }`. */
async function collectSchemas(exts) {
  const out = {};
  for (const e of exts) {
    const dir = e.pkg.jupyterlab.schemaDir;
    if (!dir) continue;
    for (const f of (await readdir(join(e.dir, dir)).catch(() => [])).sort()) {
      if (f.endsWith('.json')) out[`${e.name}:${basename(f, '.json')}`] = await readJson(join(e.dir, dir, f));
    }
  }
  return out;
}

/** `@import '~pkg/x.css'` (webpack's css-loader syntax) → a node_modules resolution. */
const tildePlugin = {
  name: 'nbg-tilde',
  setup(b) {
    b.onResolve({ filter: /^~/ }, args => b.resolve(args.path.slice(1), { resolveDir: args.resolveDir, kind: args.kind }));
  }
};

/**
 * SVG in CSS `url()` becomes a URL (data URL when small, a file otherwise); SVG imported by
 * JS stays text (LabIcon's `svgstr`). Suffixes such as `#fontawesome` are kept in the URL.
 */
const svgUrlPlugin = {
  name: 'nbg-svg-url',
  setup(b) {
    b.onResolve({ filter: /\.svg([?#].*)?$/ }, async args => {
      if (args.kind !== 'url-token') return undefined;
      const clean = args.path.replace(/[?#].*$/, '');
      // CSS url()s are relative unless they say otherwise.
      const r = await b.resolve(/^[./]/.test(clean) ? clean : `./${clean}`, { resolveDir: args.resolveDir, kind: 'import-statement' });
      if (r.errors.length) return { errors: r.errors };
      return { path: r.path, namespace: 'svg-url', suffix: args.path.slice(clean.length) };
    });
    b.onLoad({ filter: /.*/, namespace: 'svg-url' }, async args => {
      const contents = await readFile(args.path);
      return { contents, loader: contents.length <= SVG_INLINE_MAX ? 'dataurl' : 'file' };
    });
  }
};

/**
 * With code splitting, `import()` of a CommonJS/UMD module yields only `{ default }` (as in
 * Node); webpack also copies `module.exports` members onto the namespace and
 * `@jupyterlab/terminal` relies on it (`(await import('@xterm/xterm')).Terminal`). Bare
 * `import()`s in `@jupyterlab/*` get the same interop here.
 */
const importInteropPlugin = {
  name: 'nbg-import-interop',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]@jupyterlab[\\/].*\.js$/ }, async args => {
      const text = await readFile(args.path, 'utf8');
      if (!/\bimport\(\s*['"][^'"./]/.test(text)) return undefined;
      const rewritten = text.replace(/\bimport\(\s*(['"])([^'"./][^'"]*)\1\s*\)/g, 'import($1$2$1).then(__nbgInterop)');
      const helper = '\nfunction __nbgInterop(m) { return m && m.default && (typeof m.default === "object" || typeof m.default === "function") ? Object.assign({}, m.default, m) : m; }\n';
      return { contents: rewritten + helper, loader: 'js', resolveDir: dirname(args.path) };
    });
  }
};

const virtualPlugins = source => ({
  name: 'nbg-lab-plugins',
  setup(b) {
    b.onResolve({ filter: /^nbg:lab-plugins$/ }, () => ({ path: 'lab-plugins', namespace: 'nbg' }));
    b.onLoad({ filter: /.*/, namespace: 'nbg' }, () => ({ contents: source, loader: 'js', resolveDir: here }));
  }
});

const COMMON = {
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: !process.env.NBG_WEB_DEV,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  define: { 'process.env.NODE_ENV': JSON.stringify(process.env.NBG_WEB_DEV ? 'development' : 'production'), global: 'globalThis' },
  loader: {
    '.svg': 'text',
    '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file',
    '.png': 'file', '.gif': 'file', '.jpg': 'file',
    '.md': 'text', '.html': 'text'
  }
};

/** Static imports of an entry's output, transitively: what the page needs before it runs. */
function startupFiles(meta, entryOut) {
  const seen = new Set();
  const walk = f => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const imp of meta.outputs[f]?.imports ?? []) if (imp.kind === 'import-statement') walk(imp.path);
  };
  walk(entryOut);
  return [...seen];
}

function entryOutputs(meta, entrySuffix) {
  const out = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith(entrySuffix));
  if (!out) throw new Error(`no output for ${entrySuffix}`);
  return { js: out[0], css: out[1].cssBundle };
}

async function buildLab(out) {
  const exts = await labExtensions();
  const staticDir = join(out, 'static');
  const result = await build({
    ...COMMON,
    entryPoints: { main: join(here, 'src/lab/index.ts') },
    outdir: staticDir,
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    publicPath: '/static/lab',
    plugins: [virtualPlugins(pluginsModule(exts)), tildePlugin, svgUrlPlugin, importInteropPlugin]
  });
  const meta = result.metafile;
  const { js, css } = entryOutputs(meta, 'src/lab/index.ts');
  const url = f => `/static/lab/${relative(staticDir, join(root, f)).split('\\').join('/')}`;
  const startup = startupFiles(meta, js);
  const preload = startup.filter(f => f !== js).map(f => `<link rel="modulepreload" href="${url(f)}">`);
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>JupyterLab</title>',
    '<script id="jupyter-config-data" type="application/json">{{PAGE_CONFIG}}</script>',
    css ? `<link rel="stylesheet" href="${url(css)}">` : '',
    ...preload,
    `<script type="module" src="${url(js)}"></script>`,
    '</head>',
    '<body></body>',
    '</html>',
    ''
  ].filter(Boolean).join('\n');
  await writeFile(join(out, 'index.html'), html);

  // Themes are fetched at run time from `<base>lab/api/themes/<package>/index.css`.
  const themes = exts.filter(e => e.pkg.jupyterlab.themePath);
  for (const t of themes) {
    await build({
      ...COMMON,
      entryPoints: [join(t.dir, t.pkg.jupyterlab.themePath)],
      outfile: join(out, 'themes', t.name, 'index.css'),
      assetNames: '[name]-[hash]',
      plugins: [tildePlugin, svgUrlPlugin],
      metafile: false
    });
  }
  const schemas = await collectSchemas(exts);
  await writeFile(join(out, 'schemas.json'), JSON.stringify(schemas));
  const startupBytes = await sizes(startup.concat(css ? [css] : []));
  const info = {
    version: require('@jupyterlab/application/package.json').version,
    extensions: exts.map(e => e.name),
    disabledPlugins: DISABLED_PLUGINS,
    themes: themes.map(t => t.name),
    schemas: Object.keys(schemas).length,
    startup: { files: startup.length + (css ? 1 : 0), ...startupBytes }
  };
  await writeFile(join(out, 'build.json'), JSON.stringify(info, null, 2));
  return info;
}

async function buildConsole(out) {
  const result = await build({
    ...COMMON,
    entryPoints: { main: join(here, 'src/console/main.ts') },
    outdir: out,
    entryNames: '[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    publicPath: '/static/console',
    sourcemap: 'linked'
  });
  const { js, css } = entryOutputs(result.metafile, 'src/console/main.ts');
  const url = f => `/static/console/${relative(out, join(root, f)).split('\\').join('/')}`;
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>nbgateway console</title>',
    css ? `<link rel="stylesheet" href="${url(css)}">` : '',
    `<script type="module" src="${url(js)}"></script>`,
    '</head>',
    '<body><div id="app" class="nbg-app" aria-live="polite">Loading…</div><noscript>The console needs JavaScript.</noscript></body>',
    '</html>',
    ''
  ].filter(Boolean).join('\n');
  await writeFile(join(out, 'index.html'), html);
  return { startup: await sizes([js, css].filter(Boolean)) };
}

async function sizes(files) {
  let bytes = 0;
  let gzip = 0;
  for (const f of files) {
    const buf = await readFile(join(root, f));
    bytes += buf.length;
    gzip += gzipSync(buf, { level: 9 }).length;
  }
  return { bytes, gzipBytes: gzip };
}

/** Writes `<file>.gz` next to every compressible file worth compressing. */
async function precompress(dir) {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await precompress(p);
    else if (/\.(js|css|svg|json|html|map|txt)$/.test(e.name)) {
      const buf = await readFile(p);
      if (buf.length < 1024) continue;
      const gz = gzipSync(buf, { level: 9 });
      if (gz.length < buf.length * 0.9) await writeFile(`${p}.gz`, gz);
    }
  }
}

async function hashSources(paths) {
  const h = createHash('sha256');
  const walk = async p => {
    let st;
    try {
      st = await stat(p);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      if (basename(p) === 'node_modules' || basename(p) === 'dist' || basename(p).startsWith('.')) return;
      for (const n of (await readdir(p)).sort()) await walk(join(p, n));
    } else {
      h.update(relative(root, p));
      h.update(await readFile(p));
    }
  };
  for (const p of paths) await walk(p);
  return h.digest('hex');
}

/**
 * Builds `web/dist` (console and lab). Skipped when nothing that goes in changed, unless
 * `NBG_FORCE_BUILD` is set.
 * @returns what was built, or null when it was up to date.
 */
export async function buildWeb() {
  const dist = join(here, 'dist');
  const hash = await hashSources([join(here, 'src'), join(here, 'build.mjs'), join(here, 'package.json'), join(root, 'extensions'), join(root, 'package-lock.json')]);
  const stamp = join(dist, '.build-hash');
  if (!process.env.NBG_FORCE_BUILD && (await readFile(stamp, 'utf8').catch(() => '')) === hash) return null;
  const started = Date.now();
  const tmp = `${dist}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const consoleInfo = await buildConsole(join(tmp, 'console'));
    const labInfo = await buildLab(join(tmp, 'lab'));
    await precompress(tmp);
    await writeFile(join(tmp, '.build-hash'), hash);
    const old = `${dist}.old-${process.pid}`;
    await rename(dist, old).catch(() => undefined);
    await rename(tmp, dist);
    await rm(old, { recursive: true, force: true });
    const info = { ms: Date.now() - started, console: consoleInfo, lab: labInfo };
    process.stdout.write(`web: built in ${info.ms} ms (lab startup ${(labInfo.startup.gzipBytes / 1024).toFixed(0)} kB gzip, console ${(consoleInfo.startup.gzipBytes / 1024).toFixed(0)} kB gzip)\n`);
    return info;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildWeb();
