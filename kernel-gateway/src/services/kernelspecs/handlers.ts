/**
 * `/api/kernelspecs` and `/kernelspecs/<name>/<file>` (jupyter_server api.yaml
 * `/kernelspecs`, `services/kernelspecs/handlers.py`, `kernelspecs/handlers.py`).
 */
import { createReadStream } from 'node:fs';
import { join, extname } from 'node:path';
import type { RouteTables } from '../../http/server';
import { sendJson } from '../../http/respond';
import { notFound } from '../../errors';
import type { KernelSpecEntry, KernelSpecManager } from './manager';

const MIME: Record<string, string> = { '.png': 'image/png', '.svg': 'image/svg+xml', '.js': 'text/javascript', '.css': 'text/css' };

/** The model `@jupyterlab/services` KernelSpecAPI expects for one spec. */
export function specModel(entry: KernelSpecEntry, baseUrl: string): Record<string, unknown> {
  const resources: Record<string, string> = {};
  for (const file of entry.resources) {
    const key = file.replace(/\.(png|svg|js|css)$/, '');
    resources[key] = `${baseUrl}kernelspecs/${encodeURIComponent(entry.name)}/${file}`;
  }
  const { argv, display_name, language, interrupt_mode = 'signal', env = {}, metadata = {} } = entry.spec;
  return { name: entry.name, spec: { argv, display_name, language, interrupt_mode, env, metadata }, resources };
}

export function registerKernelSpecRoutes({ http: router }: RouteTables, specs: KernelSpecManager, baseUrl: string): void {
  router.get('api/kernelspecs', async (_req, res) => {
    const all = await specs.all();
    const kernelspecs: Record<string, unknown> = {};
    for (const [name, entry] of all) kernelspecs[name] = specModel(entry, baseUrl);
    sendJson(res, 200, { default: (await specs.defaultName()) ?? '', kernelspecs });
  });

  router.get('api/kernelspecs/:name', async (_req, res, { name }) => {
    const entry = await specs.get(name!);
    if (!entry) throw notFound(`Kernel spec ${name} not found`);
    sendJson(res, 200, specModel(entry, baseUrl));
  });

  router.get('kernelspecs/:name/:file', async (_req, res, { name, file }) => {
    const entry = await specs.get(name!);
    if (!entry || !entry.resources.includes(file!)) throw notFound(`Kernel spec resource ${name}/${file} not found`);
    res.writeHead(200, {
      'Content-Type': MIME[extname(file!)] ?? 'application/octet-stream',
      'Cache-Control': 'max-age=3600'
    });
    createReadStream(join(entry.dir, file!)).pipe(res);
  });
}
