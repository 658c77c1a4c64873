"use strict";
// Media (images, SVG, HTML) in one webview panel per session, with a
// strict Content-Security-Policy; HTML goes into sandboxed iframes (see core/mediaHtml).
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
Object.defineProperty(exports, "__esModule", { value: true });
exports.MediaPanels = void 0;
exports.mediaPanelTitle = mediaPanelTitle;
const vscode = __importStar(require("vscode"));
const mediaHtml_1 = require("./core/mediaHtml");
const mediaList_1 = require("./core/mediaList");
/** Items kept per session; older ones drop off. */
const MAX_ITEMS = 50;
function mediaPanelTitle(session) {
    return `runbridge media: ${session}`;
}
class MediaPanels {
    sessions = new Map();
    nextId = 1;
    /** Adds a record's media, or (a display update) replaces that display's in place. */
    add(session, runId, kind, data, reveal, display) {
        const media = this.entry(session);
        const item = {
            id: this.nextId++,
            runId,
            kind,
            data,
            label: `Out [${runId.slice(0, 4)}] ${kind}${display?.update ? ' (updated)' : ''}`,
            time: new Date().toLocaleTimeString(),
        };
        const placed = (0, mediaList_1.placeMedia)(media.items, item, display, MAX_ITEMS);
        if (placed === 'added' && (reveal || media.panel)) {
            this.show(session, reveal);
        }
        else if (placed === 'updated' && media.panel) {
            this.show(session, false); // re-render where it is, without stealing the view
        }
        return placed;
    }
    show(session, reveal = true) {
        const media = this.entry(session);
        if (!media.panel) {
            const panel = vscode.window.createWebviewPanel('runbridge.media', mediaPanelTitle(session), { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: false, retainContextWhenHidden: false, localResourceRoots: [] });
            panel.onDidDispose(() => {
                if (media.panel === panel) {
                    media.panel = undefined;
                }
            });
            media.panel = panel;
            this.render(session);
        }
        else {
            this.scheduleRender(session);
            if (reveal && !media.panel.visible) {
                media.panel.reveal(vscode.ViewColumn.Beside, true);
            }
        }
    }
    /** A panel VS Code restored after a window reload: it shows its session's media again
     * (replayed from the session's history when the window reattaches). */
    adopt(panel) {
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
    count(session) {
        return this.sessions.get(session)?.items.length ?? 0;
    }
    entry(session) {
        let media = this.sessions.get(session);
        if (!media) {
            media = { items: [] };
            this.sessions.set(session, media);
        }
        return media;
    }
    scheduleRender(session) {
        const media = this.entry(session);
        if (media.pending) {
            return;
        }
        media.pending = setTimeout(() => {
            media.pending = undefined;
            this.render(session);
        }, 50);
    }
    render(session) {
        const media = this.entry(session);
        const panel = media.panel;
        if (!panel) {
            return;
        }
        panel.webview.html = (0, mediaHtml_1.mediaPage)(media.items, {
            cspSource: panel.webview.cspSource,
            nonce: (0, mediaHtml_1.makeNonce)(),
            title: mediaPanelTitle(session),
        });
    }
    dispose() {
        for (const media of this.sessions.values()) {
            if (media.pending) {
                clearTimeout(media.pending);
            }
            media.panel?.dispose();
        }
        this.sessions.clear();
    }
}
exports.MediaPanels = MediaPanels;
