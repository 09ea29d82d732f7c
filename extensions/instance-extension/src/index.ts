/**
 * The instance inside JupyterLab (SPEC §4, §6): a status-bar item with the state and the lease
 * countdown, and a side panel with renew, stop, and the flavor for the next start.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';
import { instanceInfo } from '@nbgateway/lab-services';
import { InstanceModel } from './model';
import { InstancePanel, InstanceStatusItem } from './widgets';

export const CommandIDs = { show: 'nbg:instance-show', stop: 'nbg:instance-stop', renew: 'nbg:instance-renew' } as const;

const plugin: JupyterFrontEndPlugin<void> = {
  id: '@nbgateway/instance-extension:plugin',
  description: 'The instance: state, lease countdown with renew, stop, flavor for the next start.',
  autoStart: true,
  optional: [IStatusBar, ICommandPalette],
  activate: (app: JupyterFrontEnd, statusBar: IStatusBar | null, palette: ICommandPalette | null) => {
    const info = instanceInfo();
    if (!info) return;
    const model = new InstanceModel(info);
    const panel = new InstancePanel(model);
    panel.id = 'nbg-instance-panel';
    app.shell.add(panel, 'right', { rank: 50 });
    app.commands.addCommand(CommandIDs.show, { label: 'Show Instance Panel', execute: () => app.shell.activateById(panel.id) });
    app.commands.addCommand(CommandIDs.stop, { label: 'Stop Instance…', execute: () => panel.stop() });
    app.commands.addCommand(CommandIDs.renew, { label: 'Renew Instance Lease', isEnabled: () => model.leaseExpiresAt !== null, execute: () => panel.renew() });
    for (const command of Object.values(CommandIDs)) palette?.addItem({ command, category: 'Instance' });
    statusBar?.registerStatusItem('@nbgateway/instance-extension:status', {
      item: new InstanceStatusItem(model, () => app.shell.activateById(panel.id)),
      align: 'left',
      rank: 0
    });
    void model.refresh();
    model.startPolling();
  }
};

export default plugin;
