/**
 * The JupyterLab plugin of jupyter-taskvalues: the Task Values side panel, its settings, and the commands
 * to run a job file (file browser context menu, command palette, the panel's button), open an executed
 * notebook, and open the panel; and the Output panel widget's times in local time (see `localtime.ts`).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, showErrorMessage } from '@jupyterlab/apputils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { FileDialog, IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { RunActions, isJobFile } from './actions';
import { TaskValuesDrive, drivePath, notebookLocation } from './drive';
import { TimeFormat } from './format';
import { TimeLocaliser } from './localtime';
import { DEFAULT_SETTINGS, IPanelSettings, TaskValuesModel } from './model';
import { TaskValuesPanel, taskValuesIcon } from './panel';

/** Command ids of the extension. */
export namespace CommandIDs {
  export const open = 'taskvalues:open-panel';
  export const openNotebook = 'taskvalues:open-notebook';
  export const runJob = 'taskvalues:run-job';
}

const PLUGIN_ID = 'jupyter-taskvalues:plugin';

/** Read the panel's settings from the registry's composite, keeping defaults for what is missing or wrong. */
export function readSettings(composite: Partial<Record<string, unknown>>): IPanelSettings {
  const interval = Number(composite.refreshInterval);
  const runs = Number(composite.runsShown);
  const format = String(composite.timeFormat ?? DEFAULT_SETTINGS.timeFormat);
  return {
    refreshInterval:
      Number.isFinite(interval) && interval >= 200 ? interval : DEFAULT_SETTINGS.refreshInterval,
    runsShown: Number.isInteger(runs) && runs > 0 ? runs : DEFAULT_SETTINGS.runsShown,
    timeFormat: (['local', 'relative', 'utc'].includes(format)
      ? format
      : DEFAULT_SETTINGS.timeFormat) as TimeFormat
  };
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description:
    'A side panel that runs jobs and shows their runs, task graphs, output and task values.',
  autoStart: true,
  optional: [
    ICommandPalette,
    ILayoutRestorer,
    ISettingRegistry,
    ITranslator,
    IDefaultFileBrowser,
    IDocumentManager
  ],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null,
    fileBrowser: IDefaultFileBrowser | null,
    docManager: IDocumentManager | null
  ) => {
    const trans = (translator ?? nullTranslator).load('jupyter_taskvalues');
    const drive = new TaskValuesDrive();
    app.serviceManager.contents.addDrive(drive);

    const openNotebook = async (
      runId: string,
      taskKey: string,
      iteration: number | null
    ): Promise<void> => {
      try {
        const location = await notebookLocation(runId, taskKey, iteration);
        const path = location.path ?? drivePath(runId, taskKey, iteration);
        await app.commands.execute('docmanager:open', { path });
      } catch (error) {
        await showErrorMessage(
          trans.__('Cannot open the executed notebook'),
          (error as Error).message
        );
      }
    };

    const model = new TaskValuesModel();
    const reveal = (): void => app.shell.activateById(panel.id);
    const actions = new RunActions(model, trans, reveal);
    const panel = new TaskValuesPanel(
      model,
      { openNotebook, actions, runJob: () => void app.commands.execute(CommandIDs.runJob) },
      trans
    );
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'jupyter-taskvalues-panel');
    }

    // The Output panel widgets of every notebook in the page: the page lives as long as the plugin.
    const times = new TimeLocaliser(document.body);

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            const read = readSettings(settings.composite);
            model.applySettings(read);
            times.format = read.timeFormat;
          };
          apply();
          settings.changed.connect(apply);
        })
        .catch(reason => {
          console.error(`jupyter-taskvalues: cannot load the settings of ${PLUGIN_ID}`, reason);
        });
    }

    /** The job file the command is about: its `path` argument, else the file browser's selection. */
    const selectedJobFile = (): string | null => {
      const item = fileBrowser ? fileBrowser.selectedItems().next() : null;
      const model = item && !item.done ? item.value : null;
      return model && model.type !== 'directory' && isJobFile(model.path) ? model.path : null;
    };

    app.commands.addCommand(CommandIDs.runJob, {
      label: args => (args.path || selectedJobFile() ? trans.__('Run Job') : trans.__('Run Job…')),
      caption: trans.__('Run a job file: pick the job, the target and the parameters'),
      icon: taskValuesIcon,
      isVisible: args => !args.fromMenu || selectedJobFile() !== null,
      describedBy: { args: { type: 'object', properties: { path: { type: 'string' } } } },
      execute: async args => {
        let path = typeof args.path === 'string' && args.path ? args.path : null;
        if (path === null && args.fromMenu) {
          path = selectedJobFile();
        }
        if (path === null && docManager) {
          const picked = await FileDialog.getOpenFiles({
            manager: docManager,
            translator: translator ?? nullTranslator,
            title: trans.__('Pick a job file to run'),
            filter: value => (value.type === 'directory' || isJobFile(value.path) ? {} : null)
          });
          const file = picked.button.accept
            ? picked.value?.find(f => isJobFile(f.path))
            : undefined;
          path = file ? file.path : null;
        }
        if (path !== null) {
          await actions.runJobFile(path);
        }
      }
    });
    app.commands.addCommand(CommandIDs.open, {
      label: trans.__('Task Values: Open panel'),
      caption: trans.__('Show job runs and their task values'),
      icon: taskValuesIcon,
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    app.commands.addCommand(CommandIDs.openNotebook, {
      label: trans.__('Task Values: Open executed notebook'),
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
    // The file browser's context menu: on a job file only (the selector matches every file item; the
    // command is hidden unless the selected item is a job file).
    app.contextMenu.addItem({
      command: CommandIDs.runJob,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      rank: 3,
      args: { fromMenu: true }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.open, category: trans.__('Task Values') });
      palette.addItem({ command: CommandIDs.runJob, category: trans.__('Task Values') });
    }
  }
};

export default plugin;
