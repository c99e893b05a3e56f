import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';

import { TaskValuesDrive, drivePath, notebookLocation } from './drive';
import { TaskValuesModel } from './model';
import { TaskValuesPanel, taskValuesIcon } from './panel';

/** Command ids of the extension. */
export namespace CommandIDs {
  export const open = 'taskvalues:open-panel';
  export const openNotebook = 'taskvalues:open-notebook';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-taskvalues:plugin',
  description: 'A side panel that shows job runs, their task graphs and their task values.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ) => {
    const drive = new TaskValuesDrive();
    app.serviceManager.contents.addDrive(drive);

    const openNotebook = async (runId: string, taskKey: string, iteration: number | null): Promise<void> => {
      try {
        const location = await notebookLocation(runId, taskKey, iteration);
        const path = location.path ?? drivePath(runId, taskKey, iteration);
        await app.commands.execute('docmanager:open', { path });
      } catch (error) {
        await showErrorMessage('Cannot open the executed notebook', (error as Error).message);
      }
    };

    const panel = new TaskValuesPanel(new TaskValuesModel(), openNotebook);
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'jupyter-taskvalues-panel');
    }

    app.commands.addCommand(CommandIDs.open, {
      label: 'Task Values: Open panel',
      caption: 'Show job runs and their task values',
      icon: taskValuesIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.openNotebook, {
      label: 'Task Values: Open executed notebook',
      describedBy: {
        args: {
          type: 'object',
          properties: {
            runId: { type: 'string' },
            taskKey: { type: 'string' },
            iteration: { type: 'number' }
          }
        }
      },
      execute: args => {
        const iteration = typeof args.iteration === 'number' ? args.iteration : null;
        return openNotebook(String(args.runId), String(args.taskKey), iteration);
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: 'Task Values' });
    }
  }
};

export default plugin;
