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
import { IServiceManager } from '@jupyterlab/services';
import { PluginRegistry, type IPlugin } from '@lumino/coreutils';
import { extensions, mimeExtensions } from 'nbg:lab-plugins';

/** Plug-ins never activated here; kept in sync with `DISABLED_PLUGINS` in web/build.mjs. */
const DISABLED = new Set(['@jupyterlab/apputils-extension:announcements', '@jupyterlab/application-extension:dirty']);

function pluginsOf(mod: { default: unknown }): IPlugin<JupyterLab, unknown>[] {
  const d = (mod.default ?? mod) as IPlugin<JupyterLab, unknown> | IPlugin<JupyterLab, unknown>[];
  return Array.isArray(d) ? d : [d];
}

async function main(): Promise<void> {
  const all = extensions.flatMap(pluginsOf);
  const isDisabled = (id: string): boolean => DISABLED.has(id) || PageConfig.Extension.isDisabled(id);
  const enabled = all.filter(p => !isDisabled(p.id));
  const registry = new PluginRegistry();
  registry.registerPlugins(enabled);
  const serviceManager = await registry.resolveRequiredService(IServiceManager);
  const lab = new JupyterLab({
    pluginRegistry: registry,
    serviceManager,
    mimeExtensions: [...mimeExtensions],
    disabled: { matches: all.filter(p => isDisabled(p.id)).map(p => p.id), patterns: [...DISABLED] },
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
