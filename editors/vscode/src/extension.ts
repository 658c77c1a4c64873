// Entry point: builds the parts, wires the daemon's notifications to them and
// registers the commands. The daemon itself starts on the first command that needs it.

import * as vscode from 'vscode';
import { RunbridgeEvents } from './api';
import { CellRunner, trackContext } from './cells';
import { registerCommands } from './commands';
import { Daemon } from './daemon';
import { askInput } from './input';
import { MediaPanels } from './mediaPanel';
import { OutputTerminals } from './outputTerminal';
import { RemoteTerminals } from './remoteTerminal';
import { Reattachment } from './reattach';
import { Runner } from './runner';
import { Sessions } from './sessions';
import { VariablesView } from './variablesView';

let daemon: Daemon | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const config = vscode.workspace.getConfiguration('runbridge');
  const log = vscode.window.createOutputChannel('runbridge', { log: true });
  const sessions = new Sessions(context.workspaceState, config.get<string>('defaultSession', 'default'));
  const outputs = new OutputTerminals();
  const media = new MediaPanels();
  // the parts below need the daemon and the daemon's events need them: late-bound
  let reattachment: Reattachment | undefined;
  let terminals: RemoteTerminals | undefined;
  const events: RunbridgeEvents = {
    output: (params) => reattachment?.output(params),
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
    documentBound: (params) => {
      const rebind = sessions.documentBound(params, daemon?.info?.defaultSession);
      if (rebind !== undefined) {
        daemon?.current()?.bindDocument(params.uri, rebind).catch((error: unknown) => {
          log.warn(`runbridge/bindDocument ${params.uri}: ${error instanceof Error ? error.message : String(error)}`);
        });
      }
    },
    input: (params, token) => {
      outputs.show(params.session);
      return askInput(params, token);
    },
  };
  daemon = new Daemon(log, events);
  const d = daemon;
  terminals = new RemoteTerminals(() => {
    const api = d.current();
    if (!api) {
      throw new Error('the runbridge daemon is not running');
    }
    return api;
  }, context.workspaceState);
  let runner: Runner | undefined;
  const attach = new Reattachment(
    d,
    context.workspaceState,
    sessions,
    outputs,
    terminals,
    (params, replayed) => runner?.render(params, replayed),
    log,
  );
  reattachment = attach;
  runner = new Runner(d, sessions, outputs, media, attach);
  const cells = new CellRunner(d, runner, sessions);
  d.commandHook = (command, args, next) => cells.serverCommand(command, args, next);
  const variables = new VariablesView(d, sessions);
  context.subscriptions.push(
    log,
    sessions,
    outputs,
    media,
    terminals,
    attach,
    d,
    d.onDidChangeState((reason) => {
      sessions.setDaemonDown(reason);
      if (reason) {
        // the daemon's document bindings are per connection: the next one starts from none
        sessions.forgetBindings();
      }
    }),
    variables,
    // A media panel restored by a window reload shows its session's media again: they are
    // replayed from the session's history when the window reattaches to the host.
    vscode.window.registerWebviewPanelSerializer('runbridge.media', {
      deserializeWebviewPanel: async (panel) => media.adopt(panel),
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      const documentSettings =
        e.affectsConfiguration('runbridge.cellMarkers') || e.affectsConfiguration('runbridge.languages');
      if (documentSettings && d.usesHost) {
        // sent in initializationOptions: a new connection (the host and its sessions go on)
        void d.reconnect();
      }
      if (
        (documentSettings && !d.usesHost) ||
        e.affectsConfiguration('runbridge.daemon') ||
        e.affectsConfiguration('runbridge.defaultProfile')
      ) {
        void vscode.window
          .showInformationMessage('runbridge: restart the daemon to use the new settings?', 'Restart Daemon')
          .then((choice) => choice && vscode.commands.executeCommand('runbridge.restartDaemon'));
      }
    }),
    trackContext(d),
    ...registerCommands({ daemon: d, sessions, runner, cells, variables, outputs, media, terminals, reattachment: attach }),
  );
  // After a window reload (or a new window), connect at once when the session host runs:
  // the status bar shows the session's state, the output terminals its last runs and the
  // remote terminals come back (Reattachment, on every connect).
  void d.reattach();
}

export async function deactivate(): Promise<void> {
  await daemon?.stop();
  daemon = undefined;
}
