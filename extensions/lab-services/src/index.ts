/**
 * Shared by the nbgateway JupyterLab plug-ins: the instance this lab belongs to (from the page
 * config the gateway renders) and small clients for the gateway's REST API (`/api/v1/`) and
 * the agent's platform endpoints (`<base>api/nbg/`), both same origin.
 */
export * from './page';
export * from './gateway';
export * from './browser';
