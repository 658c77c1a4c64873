// "Runbridge: Open App…": what the command shows for a session's apps and a forward.
// No `vscode` import: the unit tests load this file.

import type { AppInfo, OpenedApp } from '../protocol';

/** A quick-pick entry for one app. */
export interface AppPickItem {
  label: string;
  description: string;
  app: string;
}

export function appPickItems(apps: AppInfo[]): AppPickItem[] {
  return apps.map((app) => ({
    label: app.name,
    description: app.description,
    app: app.name,
  }));
}

export const OPEN_IN_BROWSER = 'Open in Browser';
export const STOP_FORWARDING = 'Stop Forwarding';

/** The information message of a forward and its buttons (a browser only for http apps). */
export function forwardNotice(opened: OpenedApp): { message: string; actions: string[] } {
  const message = `runbridge: app ${opened.app} of session ${opened.session} is forwarded to ${opened.url}`;
  const actions = opened.protocol === 'http' ? [OPEN_IN_BROWSER, STOP_FORWARDING] : [STOP_FORWARDING];
  return { message, actions };
}
