// Media (images, SVG, HTML) in one webview panel per session, with a
// strict Content-Security-Policy; HTML goes into sandboxed iframes (see core/mediaHtml).

import * as vscode from 'vscode';
import { MediaItem, makeNonce, mediaPage } from './core/mediaHtml';
import { Placement, placeMedia } from './core/mediaList';
import type { DisplayRef } from './protocol';

/** Items kept per session; older ones drop off. */
const MAX_ITEMS = 50;

export function mediaPanelTitle(session: string): string {
  return `runbridge media: ${session}`;
}

interface SessionMedia {
  items: MediaItem[];
  panel?: vscode.WebviewPanel;
  /** A render is scheduled (media of one run arrive in bursts). */
  pending?: NodeJS.Timeout;
}

export class MediaPanels implements vscode.Disposable {
  private readonly sessions = new Map<string, SessionMedia>();
  private nextId = 1;

  /** Adds a record's media, or (a display update) replaces that display's in place. */
  add(
    session: string,
    runId: string,
    kind: string,
    data: string,
    reveal: boolean,
    display?: DisplayRef,
  ): Placement {
    const media = this.entry(session);
    const item: MediaItem = {
      id: this.nextId++,
      runId,
      kind,
      data,
      label: `Out [${runId.slice(0, 4)}] ${kind}${display?.update ? ' (updated)' : ''}`,
      time: new Date().toLocaleTimeString(),
    };
    const placed = placeMedia(media.items, item, display, MAX_ITEMS);
    if (placed === 'added' && (reveal || media.panel)) {
      this.show(session, reveal);
    } else if (placed === 'updated' && media.panel) {
      this.show(session, false); // re-render where it is, without stealing the view
    }
    return placed;
  }

  show(session: string, reveal = true): void {
    const media = this.entry(session);
    if (!media.panel) {
      const panel = vscode.window.createWebviewPanel(
        'runbridge.media',
        mediaPanelTitle(session),
        { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
        { enableScripts: false, retainContextWhenHidden: false, localResourceRoots: [] },
      );
      panel.onDidDispose(() => {
        if (media.panel === panel) {
          media.panel = undefined;
        }
      });
      media.panel = panel;
      this.render(session);
    } else {
      this.scheduleRender(session);
      if (reveal && !media.panel.visible) {
        media.panel.reveal(vscode.ViewColumn.Beside, true);
      }
    }
  }

  /** A panel VS Code restored after a window reload: it shows its session's media again
   * (replayed from the session's history when the window reattaches). */
  adopt(panel: vscode.WebviewPanel): void {
    const prefix = mediaPanelTitle('');
    const session = panel.title.startsWith(prefix) ? panel.title.slice(prefix.length) : '';
    const media = session ? this.entry(session) : undefined;
    if (!media || media.panel) {
      panel.dispose();
      return;
    }
    panel.webview.options = { enableScripts: false, localResourceRoots: [] };
    panel.onDidDispose(() => {
      if (media.panel === panel) {
        media.panel = undefined;
      }
    });
    media.panel = panel;
    this.render(session);
  }

  count(session: string): number {
    return this.sessions.get(session)?.items.length ?? 0;
  }

  private entry(session: string): SessionMedia {
    let media = this.sessions.get(session);
    if (!media) {
      media = { items: [] };
      this.sessions.set(session, media);
    }
    return media;
  }

  private scheduleRender(session: string): void {
    const media = this.entry(session);
    if (media.pending) {
      return;
    }
    media.pending = setTimeout(() => {
      media.pending = undefined;
      this.render(session);
    }, 50);
  }

  private render(session: string): void {
    const media = this.entry(session);
    const panel = media.panel;
    if (!panel) {
      return;
    }
    panel.webview.html = mediaPage(media.items, {
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      title: mediaPanelTitle(session),
    });
  }

  dispose(): void {
    for (const media of this.sessions.values()) {
      if (media.pending) {
        clearTimeout(media.pending);
      }
      media.panel?.dispose();
    }
    this.sessions.clear();
  }
}
