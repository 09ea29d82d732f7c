/**
 * The module `web/build.mjs` generates from web/package.json and extensions/*: every
 * JupyterLab extension package in the lab, with its styles imported.
 */
declare module 'nbg:lab-plugins' {
  import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
  /** Plug-in modules: each default-exports a plug-in or an array of them. */
  export const extensions: readonly { default: unknown }[];
  export const mimeExtensions: readonly IRenderMime.IExtensionModule[];
}
