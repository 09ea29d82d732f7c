/**
 * The JupyterLab page of an instance: the built `index.html` with the page config filled in
 * (what jupyterlab_server's `LabHandler` renders), plus the small pages shown instead when the
 * lab cannot open.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Errors } from '../errors';
import type { InstanceRecord } from '../instances/instance';

export interface LabBuildInfo {
  version: string;
  extensions: string[];
  /** Plug-ins the build leaves disabled (`DISABLED_PLUGINS` in web/build.mjs). */
  disabledPlugins?: string[];
}

/** The built lab files, re-read when a rebuild swaps `web/dist`. */
export class LabAssets {
  private _cache: { key: string; template: string; info: LabBuildInfo } | null = null;

  constructor(readonly webDir: string) {}

  get themesDir(): string {
    return join(this.webDir, 'lab', 'themes');
  }

  get staticDir(): string {
    return join(this.webDir, 'lab', 'static');
  }

  get schemasFile(): string {
    return join(this.webDir, 'lab', 'schemas.json');
  }

  /** @throws WEB_NOT_BUILT */
  async load(): Promise<{ template: string; info: LabBuildInfo }> {
    const file = join(this.webDir, 'lab', 'index.html');
    const st = await stat(file).catch(() => null);
    if (!st) throw Errors.WEB_NOT_BUILT();
    const key = `${st.ino}:${st.mtimeMs}`;
    if (this._cache?.key !== key) {
      const [template, info] = await Promise.all([readFile(file, 'utf8'), readFile(join(this.webDir, 'lab', 'build.json'), 'utf8')]);
      this._cache = { key, template, info: JSON.parse(info) as LabBuildInfo };
    }
    return this._cache;
  }
}

/** Where in the lab a URL under `/notebooks/<id>/lab` points. */
export interface LabLocation {
  workspace: string;
  treePath: string;
}

/** `lab`, `lab/tree/<path>`, `lab/workspaces/<name>[/tree/<path>]` (JupyterLab's router). */
export function parseLabPath(rest: string): LabLocation {
  const parts = rest.split('/').filter(Boolean).map(p => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  let workspace = 'default';
  if (parts[0] === 'workspaces' && parts[1]) {
    workspace = parts[1];
    parts.splice(0, 2);
  }
  const treePath = parts[0] === 'tree' ? parts.slice(1).join('/') : '';
  return { workspace, treePath };
}

export interface PageConfigInput {
  instance: InstanceRecord;
  user: { name: string; role: string };
  build: LabBuildInfo;
  location: LabLocation;
}

/** JupyterLab's page config for one instance (base URL `/notebooks/<id>/`, no token). */
export function labPageConfig({ instance, user, build, location }: PageConfigInput): Record<string, unknown> {
  const base = `/notebooks/${instance.id}/`;
  const lab = `${base}lab`;
  return {
    appName: 'JupyterLab',
    appNamespace: 'jupyterlab',
    appVersion: build.version,
    appUrl: '/lab',
    baseUrl: base,
    wsUrl: '',
    // The session cookie authenticates (same origin); no token ever appears in the page.
    token: '',
    staticUrl: '/static/lab',
    fullStaticUrl: '/static/lab',
    fullAppUrl: lab,
    settingsUrl: '/lab/api/settings',
    fullSettingsUrl: `${lab}/api/settings`,
    themesUrl: '/lab/api/themes',
    fullThemesUrl: `${lab}/api/themes`,
    translationsApiUrl: '/lab/api/translations',
    fullTranslationsApiUrl: `${lab}/api/translations`,
    workspacesApiUrl: '/lab/api/workspaces',
    fullWorkspacesApiUrl: `${lab}/api/workspaces`,
    listingsUrl: '/lab/api/listings',
    fullListingsUrl: `${lab}/api/listings`,
    licensesUrl: '/lab/api/licenses',
    fullLicensesUrl: `${lab}/api/licenses`,
    treeUrl: '/lab/tree',
    workspacesUrl: '/lab/workspaces',
    treePath: location.treePath,
    workspace: location.workspace,
    defaultWorkspace: 'default',
    mode: 'multiple-document',
    notebookStartsKernel: true,
    terminalsAvailable: true,
    buildAvailable: false,
    buildCheck: false,
    devMode: false,
    cacheFiles: false,
    quitButton: false,
    exposeAppInBrowser: true,
    allow_hidden_files: false,
    disabledExtensions: build.disabledPlugins ?? [],
    deferredExtensions: [],
    federated_extensions: [],
    // Our platform plug-ins (extensions/*) read these.
    nbgInstanceId: instance.id,
    nbgInstanceName: instance.name,
    nbgStorageType: instance.storageType,
    nbgImage: instance.image,
    nbgApiUrl: '/api/v1/',
    nbgConsoleUrl: '/',
    nbgUser: user.name
  };
}

/** Fills the template; `<` is escaped so no value can close the script element. */
export function renderLabPage(template: string, config: Record<string, unknown>): string {
  const json = JSON.stringify(config).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return template.replace('{{PAGE_CONFIG}}', () => json);
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);

/** A small page for when the lab cannot open (instance not running, not found). */
export function messagePage(title: string, message: string, link: { href: string; text: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2328}a{color:#0a58ca}</style>
</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p><p><a href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p></main></body></html>
`;
}
