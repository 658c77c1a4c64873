// Entry point: builds the parts, wires the daemon's notifications to them and
// registers the commands. The daemon itself starts on the first command that needs it.

import * as vscode from 'vscode';
import { RunbridgeEvents } from './api';
import { CellCodeLenses, trackContext } from './codeLens';
import { registerCommands } from './commands';
import { Daemon } from './daemon';
import { askInput } from './input';
import { MediaPanels } from './mediaPanel';
import { OutputTerminals } from './outputTerminal';
import { RemoteTerminals } from './remoteTerminal';
import { Runner } from './runner';
import { Sessions } from './sessions';

let daemon: Daemon | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const config = vscode.workspace.getConfiguration('runbridge');
  const log = vscode.window.createOutputChannel('runbridge', { log: true });
  const sessions = new Sessions(context.workspaceState, config.get<string>('defaultSession', 'default'));
  const outputs = new OutputTerminals();
  const media = new MediaPanels();
  // the parts below need the daemon and the daemon's events need them: late-bound
  let runner: Runner | undefined;
  let terminals: RemoteTerminals | undefined;
  const events: RunbridgeEvents = {
    output: (params) => runner?.onOutput(params),
    sessionChanged: (info) => {
      sessions.update(info);
      if (info.state === 'dead') {
        outputs.write(
          info.name,
          '\x1b[31m── the kernel died; the next run or Restart starts a fresh one ──\x1b[39m\r\n',
        );
      }
    },
    terminalOutput: (params) => terminals?.output(params),
    terminalExit: (params) => terminals?.exit(params),
    input: (params, token) => {
      outputs.show(params.session);
      return askInput(params, token);
    },
  };
  daemon = new Daemon(log, events);
  const d = daemon;
  runner = new Runner(d, sessions, outputs, media);
  terminals = new RemoteTerminals(() => {
    const api = d.current();
    if (!api) {
      throw new Error('the runbridge daemon is not running');
    }
    return api;
  });
  const lenses = new CellCodeLenses();
  context.subscriptions.push(
    log,
    sessions,
    outputs,
    media,
    runner,
    terminals,
    d,
    d.onDidChangeState((reason) => sessions.setDaemonDown(reason)),
    vscode.languages.registerCodeLensProvider({ scheme: '*' }, lenses),
    // A media panel restored by a window reload would be empty (its media lived in the
    // old window): close it; the next media reopens the panel.
    vscode.window.registerWebviewPanelSerializer('runbridge.media', {
      deserializeWebviewPanel: async (panel) => panel.dispose(),
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('runbridge.cellMarkers') || e.affectsConfiguration('runbridge.languages')) {
        lenses.refresh();
      }
      if (e.affectsConfiguration('runbridge.daemon') || e.affectsConfiguration('runbridge.defaultProfile')) {
        void vscode.window
          .showInformationMessage('runbridge: restart the daemon to use the new settings?', 'Restart Daemon')
          .then((choice) => choice && vscode.commands.executeCommand('runbridge.restartDaemon'));
      }
    }),
    trackContext(),
    ...registerCommands({ daemon: d, sessions, runner, outputs, media, terminals }),
  );
  // After a window reload, reattach to the shared daemon at once when it still runs, so
  // the status bar shows the session's state before the first run.
  void d.reattach().then(async (api) => {
    if (api) {
      sessions.replaceAll(await api.listSessions());
    }
  });
}

export async function deactivate(): Promise<void> {
  await daemon?.stop();
  daemon = undefined;
}
