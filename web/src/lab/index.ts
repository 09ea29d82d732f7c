/**
 * JupyterLab bootstrap (the equivalent of JupyterLab's `dev_mode/index.js`): registers the
 * plug-ins of every extension package in the build, resolves the service manager through
 * the plug-in registry (JupyterLab ≥ 4.4) and starts the application.
 *
 * #### Notes
 * The page config (`<script id="jupyter-config-data">`) comes from the gateway: base URL
 * `/notebooks/<id>/`, no token (the session cookie authenticates, same origin), and our
 * own options (`nbg*`) for the platform plug-ins.
 */
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { IServiceManager } from '@jupyterlab/services';
import { PluginRegistry, type IPlugin } from '@lumino/coreutils';
import { extensions, mimeExtensions } from 'nbg:lab-plugins';

function pluginsOf(mod: { default: unknown }): IPlugin<JupyterLab, unknown>[] {
  const d = (mod.default ?? mod) as IPlugin<JupyterLab, unknown> | IPlugin<JupyterLab, unknown>[];
  return Array.isArray(d) ? d : [d];
}

async function main(): Promise<void> {
  const all = extensions.flatMap(pluginsOf);
  // The gateway lists the build's disabled plug-ins in the page config (web/build.mjs).
  const isDisabled = (id: string): boolean => PageConfig.Extension.isDisabled(id);
  const enabled = all.filter(p => !isDisabled(p.id));
  const registry = new PluginRegistry();
  registry.registerPlugins(enabled);
  const serviceManager = await registry.resolveRequiredService(IServiceManager);
  const lab = new JupyterLab({
    pluginRegistry: registry,
    serviceManager,
    // JupyterLab tells ES modules from CommonJS by `__esModule`, which namespace objects lack.
    mimeExtensions: mimeExtensions.map(m => ({ __esModule: true, default: m.default }) as IRenderMime.IExtensionModule),
    disabled: { matches: all.filter(p => isDisabled(p.id)).map(p => p.id), patterns: [] },
    deferred: { matches: [], patterns: [] }
  });
  await lab.start({ bubblingKeydown: true });
  await lab.restored;
  // A stable marker for tests and benchmarks: the shell is restored and usable.
  document.body.dataset.nbgLabReady = 'true';
  if (PageConfig.getOption('exposeAppInBrowser') === 'true') (window as unknown as { jupyterapp: JupyterLab }).jupyterapp = lab;
}

main().catch(err => {
  console.error('JupyterLab failed to start', err);
  document.body.dataset.nbgLabError = String((err as Error)?.message ?? err);
});
