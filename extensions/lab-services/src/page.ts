import { PageConfig } from '@jupyterlab/coreutils';

/** Facts about this lab's instance, from the page config the gateway renders. */
export interface IInstanceInfo {
  readonly id: string;
  readonly name: string;
  readonly storageType: 'local' | 'obs' | string;
  readonly image: string;
  readonly apiUrl: string;
  readonly consoleUrl: string;
  readonly user: string;
}

/** @returns null outside an nbgateway lab (e.g. a plain JupyterLab). */
export function instanceInfo(): IInstanceInfo | null {
  const id = PageConfig.getOption('nbgInstanceId');
  if (!id) return null;
  return {
    id,
    name: PageConfig.getOption('nbgInstanceName') || id,
    storageType: PageConfig.getOption('nbgStorageType') || 'local',
    image: PageConfig.getOption('nbgImage'),
    apiUrl: PageConfig.getOption('nbgApiUrl') || '/api/v1/',
    consoleUrl: PageConfig.getOption('nbgConsoleUrl') || '/',
    user: PageConfig.getOption('nbgUser')
  };
}
