// The extension's commands. Their ids (runbridge.*) never collide with the
// daemon's runbridge.server.* executeCommand ids, which the language client registers.

import * as path from 'path';
import * as vscode from 'vscode';
import { errorMessage, RunbridgeApi } from './api';
import { appPickItems, forwardNotice, OPEN_IN_BROWSER, STOP_FORWARDING } from './core/apps';
import { CellRunner, documentFor, editorOrWarn, enabledFor } from './cells';
import { Daemon, DaemonNotFound } from './daemon';
import { RemotePick, remotePicks } from './core/remotePicks';
import { MediaPanels } from './mediaPanel';
import { OutputTerminals } from './outputTerminal';
import { RemoteTerminals } from './remoteTerminal';
import { Reattachment } from './reattach';
import { Runner } from './runner';
import { ListRemoteResult } from './protocol';
import { Sessions } from './sessions';
import { VariablesView } from './variablesView';

export interface Parts {
  daemon: Daemon;
  sessions: Sessions;
  runner: Runner;
  cells: CellRunner;
  variables: VariablesView;
  outputs: OutputTerminals;
  media: MediaPanels;
  terminals: RemoteTerminals;
  reattachment: Reattachment;
}

/** Ask before stopping the daemon; with the session host, say that it is every window's. */
async function confirmStop(daemon: Daemon, action: 'Restart' | 'Stop'): Promise<boolean> {
  const button = `${action} Daemon`;
  const detail = daemon.usesHost
    ? 'The runbridge session host serves every VS Code window, Neovim and runbridge command of this user. ' +
      `${action === 'Restart' ? 'Restarting' : 'Stopping'} it closes its local sessions for all of them ` +
      '(their variables are lost) and ends their remote terminals; Backend.AI and Jupyter sessions are kept ' +
      'on their server as the profile\'s keep_sessions says.'
    : 'The daemon runs in this window: its local sessions close (their variables are lost).';
  const choice = await vscode.window.showWarningMessage(
    `runbridge: ${action.toLowerCase()} the ${daemon.usesHost ? 'session host' : 'daemon'}?`,
    { modal: true, detail },
    button,
  );
  return choice === button;
}

/** Batch interpreters by language id, for the default exec command. */
const BATCH_EXEC: Record<string, string> = {
  python: 'python3',
  r: 'Rscript',
  julia: 'julia',
  javascript: 'node',
  shellscript: 'bash',
  ruby: 'ruby',
  lua: 'lua',
};

function wholeLines(document: vscode.TextDocument, start: number, end: number): vscode.Range {
  const last = Math.max(start, end - 1);
  return new vscode.Range(start, 0, last, document.lineAt(last).text.length);
}

async function withApi<T>(fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    void vscode.window.showErrorMessage(`runbridge: ${errorMessage(error)}`);
    return undefined;
  }
}

export function registerCommands(parts: Parts): vscode.Disposable[] {
  const { daemon, sessions, runner, cells, variables, outputs, media, terminals, reattachment } = parts;

  /** The user picked `name`: the window's session, and the active document's (bound in the
   * daemon, so its language features use that session's kernel). */
  const pick = async (name: string): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    const document = editor && enabledFor(editor.document.languageId) ? editor.document : undefined;
    await sessions.select(name, document);
    const api = daemon.current();
    if (api && document) {
      await api.bindDocument(document.uri.toString(), name);
    }
  };

  const runSelection = async (): Promise<void> => {
    const editor = editorOrWarn();
    if (!editor) {
      return;
    }
    const document = editor.document;
    const selection = editor.selection;
    await daemon.ensure(); // a daemon that cannot start says so; the cursor then stays put
    let range: vscode.Range;
    if (selection.isEmpty) {
      const line = document.lineAt(selection.active.line);
      range = line.range;
      // step to the next non-blank line, so Shift+Enter walks through a script
      let next = line.lineNumber + 1;
      while (next < document.lineCount && document.lineAt(next).isEmptyOrWhitespace) {
        next++;
      }
      if (next < document.lineCount) {
        const pos = new vscode.Position(next, document.lineAt(next).firstNonWhitespaceCharacterIndex);
        editor.selection = new vscode.Selection(pos, pos);
        editor.revealRange(new vscode.Range(pos, pos));
      }
    } else {
      range = new vscode.Range(selection.start, selection.end);
    }
    await runner.run({ code: document.getText(range), origin: { document, range } });
  };

  const runFile = async (uri?: unknown): Promise<void> => {
    const document = await documentFor(uri);
    if (!document) {
      return;
    }
    const range = wholeLines(document, 0, document.lineCount);
    await runner.run({
      code: document.getText(),
      origin: { document, range },
      label: path.basename(document.fileName),
    });
  };

  const runBatch = async (): Promise<void> => {
    const editor = editorOrWarn();
    if (!editor) {
      return;
    }
    const document = editor.document;
    const session = sessions.current;
    const files: string[] = [];
    if (document.uri.scheme === 'file') {
      if (document.isDirty) {
        await document.save();
      }
      files.push(document.uri.fsPath);
    }
    const more = await vscode.window.showQuickPick(
      [
        { label: 'Upload just this file', more: false },
        { label: 'Add more files…', more: true },
      ],
      { title: `runbridge batch job in ${session} (1/3): files`, ignoreFocusOut: true },
    );
    if (!more) {
      return;
    }
    if (more.more) {
      const picked = await vscode.window.showOpenDialog({
        canSelectMany: true,
        openLabel: 'Upload for the batch job',
      });
      if (!picked) {
        return;
      }
      files.push(...picked.map((u) => u.fsPath));
    }
    const build = await vscode.window.showInputBox({
      title: `runbridge batch job in ${session} (2/3): build command`,
      prompt: 'Shell command run first in the work folder ("*": make, or requirements.txt into a .venv). Empty: no build.',
      value: '',
      ignoreFocusOut: true,
    });
    if (build === undefined) {
      return;
    }
    const base = path.basename(document.fileName);
    const interpreter = BATCH_EXEC[document.languageId];
    const exec = await vscode.window.showInputBox({
      title: `runbridge batch job in ${session} (3/3): exec command`,
      prompt: 'Shell command that runs the job in the work folder',
      value: interpreter ? `${interpreter} ${base}` : `./${base}`,
      ignoreFocusOut: true,
    });
    if (exec === undefined) {
      return;
    }
    await withApi(async () => {
      const api = await daemon.ensure();
      if (files.length) {
        await api.upload(session, files, '.');
      }
      await runner.run({
        code: '',
        mode: 'batch',
        options: build ? { build, exec } : { exec },
        label: `batch: ${exec}`,
        session,
      });
    });
  };

  /** What runs on the servers of every remote profile (a profile whose listing failed is
   * logged). */
  const listRemote = async (api: RunbridgeApi): Promise<ListRemoteResult> => {
    const listing = await api.listRemote({ allProfiles: true }).catch((err: unknown): ListRemoteResult => {
      daemon.output.warn(`listing what runs on the servers failed: ${errorMessage(err)}`);
      return { profile: null, sessions: [], failures: [] };
    });
    for (const failure of listing.failures) {
      daemon.output.warn(`listing what runs on profile ${failure.profile} failed: ${failure.message}`);
    }
    return listing;
  };

  /** Bind a name to a kernel or session on the server (asking the name); one attached
   * already is picked as it is. */
  const attachRemote = async (api: RunbridgeApi, pick: RemotePick): Promise<string | undefined> => {
    const remote = pick.remote!;
    if (remote.attachedAs) {
      return remote.attachedAs;
    }
    const name = await vscode.window.showInputBox({
      title: `runbridge: attach to ${remote.label}`,
      prompt: 'Session name (closing it later lets go of it: it keeps running on the server)',
      value: remote.suggestedName,
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'a session needs a name'),
    });
    if (!name) {
      return undefined;
    }
    const info = await api.openSession({ name: name.trim(), profile: remote.profile, attach: remote.id });
    sessions.update(info);
    return info.name;
  };

  const pickSession = async (title: string, withRemote = false): Promise<string | undefined> => {
    const api = await daemon.ensure();
    const [open, listings] = await Promise.all([
      api.listSessions(),
      withRemote ? listRemote(api) : Promise.resolve(undefined),
    ]);
    sessions.replaceAll(open);
    type Item = vscode.QuickPickItem & { name?: string; pick?: RemotePick };
    const items: Item[] = open.map((s) => ({
      label: s.name,
      description: `${s.profile} · ${s.state}${s.attached ? ' · attached' : ''}${s.name === sessions.current ? ' · current' : ''}`,
      detail: s.workdir ?? undefined,
      name: s.name,
    }));
    if (!open.some((s) => s.name === sessions.current)) {
      items.unshift({
        label: sessions.current,
        description: 'current · opens on the first run',
        name: sessions.current,
      });
    }
    items.push({ label: '$(add) New Session…' });
    for (const pick of listings ? remotePicks(listings) : []) {
      if (pick.separator) {
        items.push({ label: pick.label, kind: vscode.QuickPickItemKind.Separator });
      } else {
        items.push({ label: `$(remote) ${pick.label}`, description: pick.description, detail: pick.detail, pick });
      }
    }
    const choice = await vscode.window.showQuickPick(items, { title, ignoreFocusOut: true });
    if (!choice) {
      return undefined;
    }
    if (choice.pick) {
      return attachRemote(api, choice.pick);
    }
    return choice.name ?? (await newSession());
  };

  const newSession = async (): Promise<string | undefined> => {
    const api = await daemon.ensure();
    const name = await vscode.window.showInputBox({
      title: 'runbridge: new session (1/3): name',
      prompt: 'Reopening a name reuses its session (on Backend.AI and Jupyter, even after a restart)',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim() ? undefined : 'a session needs a name'),
    });
    if (!name) {
      return undefined;
    }
    const profiles = (daemon.info?.profiles ?? []).filter((p) => p.available);
    let profile: string | undefined;
    if (profiles.length > 1) {
      const picked = await vscode.window.showQuickPick(
        profiles.map((p) => ({
          label: p.name,
          description: `${p.type}${p.image ? ` · ${p.image}` : ''}${p.name === daemon.info?.defaultProfile ? ' · default' : ''}`,
        })),
        { title: 'runbridge: new session (2/3): profile', ignoreFocusOut: true },
      );
      if (!picked) {
        return undefined;
      }
      profile = picked.label;
    }
    const image = await vscode.window.showInputBox({
      title: 'runbridge: new session (3/3): image',
      prompt: 'Kernel or image (local: a kernelspec such as python3; Backend.AI: an image). Empty: the profile default',
      ignoreFocusOut: true,
    });
    if (image === undefined) {
      return undefined;
    }
    const info = await api.openSession({
      name: name.trim(),
      ...(profile ? { profile } : {}),
      ...(image.trim() ? { image: image.trim() } : {}),
    });
    sessions.update(info);
    await pick(info.name);
    return info.name;
  };

  const sessionArg = (arg: unknown): string => (typeof arg === 'string' && arg ? arg : sessions.current);

  const uploadFiles = async (uri?: unknown, uris?: unknown): Promise<void> => {
    let files: vscode.Uri[] = [];
    if (Array.isArray(uris) && uris.length && uris.every((u) => u instanceof vscode.Uri)) {
      files = uris as vscode.Uri[];
    } else if (uri instanceof vscode.Uri) {
      files = [uri];
    } else {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: true, openLabel: 'Upload' });
      if (!picked) {
        return;
      }
      files = picked;
    }
    const session = sessions.current;
    const dest = await vscode.window.showInputBox({
      title: `runbridge: upload ${files.length} file(s) to session ${session}`,
      prompt: 'Folder in the session work folder',
      value: '.',
      ignoreFocusOut: true,
    });
    if (dest === undefined) {
      return;
    }
    await withApi(async () => {
      const api = await daemon.ensure();
      const done = await transfer(
        daemon,
        `Uploading ${files.length} file(s) to ${session}`,
        (token, workDoneToken) =>
          api.upload(session, files.map((f) => f.fsPath), dest || '.', token, workDoneToken),
      );
      if (done) {
        void vscode.window.showInformationMessage(
          `runbridge: uploaded ${done.map((f) => f.path).join(', ')} to ${session}`,
        );
      }
    });
  };

  const downloadFile = async (): Promise<void> => {
    await withApi(async () => {
      const api = await daemon.ensure();
      const session = sessions.current;
      let folder = '.';
      for (;;) {
        const listing = await api.listFiles(session, folder);
        const items: (vscode.QuickPickItem & { entryPath: string; dir: boolean })[] = [];
        if (folder !== '.') {
          items.push({ label: '$(arrow-up) ..', entryPath: path.posix.dirname(folder), dir: true });
        }
        for (const e of listing.entries) {
          items.push({
            label: `${e.type === 'dir' ? '$(folder)' : '$(file)'} ${e.name}`,
            description: e.type === 'dir' ? '' : `${e.size} bytes`,
            entryPath: e.path,
            dir: e.type === 'dir',
          });
        }
        const choice = await vscode.window.showQuickPick(items, {
          title: `runbridge: download from ${session}:${listing.path}`,
          ignoreFocusOut: true,
        });
        if (!choice) {
          return;
        }
        if (choice.dir) {
          folder = choice.entryPath;
          continue;
        }
        const target = await vscode.window.showOpenDialog({
          canSelectFolders: true,
          canSelectFiles: false,
          openLabel: 'Download here',
          defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
        });
        if (!target) {
          return;
        }
        const written = await transfer(daemon, `Downloading ${choice.entryPath}`, (token, workDoneToken) =>
          api.download(session, [choice.entryPath], target[0].fsPath, token, workDoneToken),
        );
        if (written) {
          const open = 'Open';
          const answer = await vscode.window.showInformationMessage(
            `runbridge: downloaded ${written.map((f) => f.path).join(', ')}`,
            open,
          );
          if (answer === open && written[0]) {
            await vscode.window.showTextDocument(vscode.Uri.file(written[0].path));
          }
        }
        return;
      }
    });
  };

  /** Pick one of the session's apps, forward it, and offer to open it (http) or stop it. */
  const openApp = async (arg: unknown): Promise<void> => {
    const session = sessionArg(arg);
    const api = await daemon.ensure();
    const apps = await api.listApps(session);
    if (!apps.length) {
      void vscode.window.showInformationMessage(`runbridge: session ${session} has no apps`);
      return;
    }
    const picked = await vscode.window.showQuickPick(appPickItems(apps), {
      title: `runbridge: open which app of session ${session}?`,
    });
    if (!picked) {
      return;
    }
    const opened = await api.openApp({ session, app: picked.app });
    const { message, actions } = forwardNotice(opened);
    const answer = await vscode.window.showInformationMessage(message, ...actions);
    if (answer === OPEN_IN_BROWSER) {
      await vscode.env.openExternal(vscode.Uri.parse(opened.url));
    } else if (answer === STOP_FORWARDING) {
      await api.closeApp(opened.appId);
    }
  };

  const register = (id: string, fn: (...args: unknown[]) => unknown): vscode.Disposable =>
    vscode.commands.registerCommand(id, async (...args: unknown[]) => {
      try {
        await fn(...args);
      } catch (error) {
        if (!(error instanceof DaemonNotFound)) {
          // (a missing daemon was already reported, with its fix-it buttons)
          void vscode.window.showErrorMessage(`runbridge: ${errorMessage(error)}`);
        }
      }
    });

  return [
    register('runbridge.runSelection', runSelection),
    register('runbridge.runCell', (uri, line) => cells.runCell(uri, line)),
    register('runbridge.runCellAndAdvance', (uri, line) => cells.runCell(uri, line, true)),
    register('runbridge.runAbove', (uri, line) => cells.runAbove(uri, line)),
    register('runbridge.refreshVariables', () => variables.refresh()),
    register('runbridge.runFile', runFile),
    register('runbridge.runBatch', runBatch),
    register('runbridge.selectSession', async () => {
      const name = await pickSession('runbridge: select session', true);
      if (name) {
        await pick(name);
        // its runs from other windows and clients show here from now on, after its last ones
        const api = daemon.current();
        if (api && sessions.info(name)) {
          await reattachment.showSession(api, name);
        }
      }
    }),
    register('runbridge.newSession', newSession),
    register('runbridge.closeSession', async (arg) => {
      const name = typeof arg === 'string' ? arg : await pickSession('runbridge: close which session?');
      if (!name) {
        return;
      }
      const api = await daemon.ensure();
      const info = await api.closeSession(name);
      sessions.update(info);
      outputs.write(name, `\x1b[2m── ${info.message} ──\x1b[22m\r\n`);
    }),
    register('runbridge.destroySession', async (arg) => {
      const name =
        typeof arg === 'string' ? arg : await pickSession('runbridge: close and destroy on the server which session?');
      if (!name) {
        return;
      }
      const api = await daemon.ensure();
      const info = await api.closeSession(name, true);
      sessions.update(info);
      outputs.write(name, `\x1b[2m── ${info.message} ──\x1b[22m\r\n`);
    }),
    register('runbridge.interrupt', async (arg) => {
      const session = sessionArg(arg);
      const api = daemon.current();
      if (!api) {
        return;
      }
      sessions.update(await api.interrupt(session));
    }),
    register('runbridge.restart', async (arg) => {
      const session = sessionArg(arg);
      const api = await daemon.ensure();
      outputs.write(session, '\x1b[2m── restarting the kernel ──\x1b[22m\r\n');
      sessions.update(await api.restart(session));
      outputs.write(session, '\x1b[2m── restarted: a fresh kernel, the work folder is kept ──\x1b[22m\r\n');
    }),
    register('runbridge.uploadFiles', uploadFiles),
    register('runbridge.downloadFile', downloadFile),
    register('runbridge.openTerminal', async (arg) => {
      await daemon.ensure();
      terminals.open(sessionArg(arg));
    }),
    register('runbridge.openApp', openApp),
    register('runbridge.showOutput', (arg) => outputs.show(sessionArg(arg), false)),
    register('runbridge.showMedia', (arg) => media.show(sessionArg(arg))),
    register('runbridge.showDaemonLog', async () => {
      daemon.output.show(true);
      const logFile = daemon.info?.logFile;
      if (logFile) {
        await vscode.window.showTextDocument(vscode.Uri.file(logFile), { preview: true });
      }
    }),
    register('runbridge.stopDaemon', async () => {
      if (await confirmStop(daemon, 'Stop')) {
        await daemon.stopDaemon();
      }
    }),
    register('runbridge.restartDaemon', async () => {
      if (!(await confirmStop(daemon, 'Restart'))) {
        return;
      }
      await daemon.restart();
      const api = daemon.current();
      if (api) {
        sessions.replaceAll(await api.listSessions());
      }
    }),
  ];
}

/** Run a transfer with a cancellable progress notification fed by the daemon's `$/progress`. */
async function transfer<T>(
  daemon: Daemon,
  title: string,
  fn: (token: vscode.CancellationToken, workDoneToken: string) => Promise<T>,
): Promise<T | undefined> {
  const workDoneToken = `runbridge-transfer-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    async (progress, token) => {
      let last = 0;
      const sub = daemon.onProgress(workDoneToken, (value) => {
        if (value.kind === 'end') {
          return;
        }
        const pct = value.percentage ?? last;
        progress.report({ message: value.message, increment: Math.max(0, pct - last) });
        last = Math.max(last, pct);
      });
      try {
        return await fn(token, workDoneToken);
      } finally {
        sub.dispose();
      }
    },
  );
}
