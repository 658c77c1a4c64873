// runbridge/input: an InputBox that stays open when focus moves (ignoreFocusOut),
// masked for passwords; Escape cancels, which makes the daemon interrupt the run.

import * as vscode from 'vscode';
import { CancellationToken } from './api';
import { InputParams } from './protocol';

export function askInput(params: InputParams, token: CancellationToken): Promise<string | null> {
  return new Promise((resolve) => {
    const box = vscode.window.createInputBox();
    box.title = `runbridge input — session ${params.session}`;
    box.prompt = params.prompt.trim() || `The run in session ${params.session} is waiting for input`;
    box.placeholder = params.password
      ? 'Password (hidden). Enter sends it, Escape interrupts the run'
      : 'Enter sends it, Escape interrupts the run';
    box.password = params.password;
    box.ignoreFocusOut = true;
    let done = false;
    const status = vscode.window.setStatusBarMessage(
      `$(keyboard) runbridge: session ${params.session} waits for input`,
    );
    const finish = (value: string | null): void => {
      if (done) {
        return;
      }
      done = true;
      status.dispose();
      cancel.dispose();
      box.dispose();
      resolve(value);
    };
    box.onDidAccept(() => finish(box.value));
    box.onDidHide(() => finish(null));
    // the daemon gave up on the question (run interrupted, session closed)
    const cancel = token.onCancellationRequested(() => finish(null));
    box.show();
  });
}
