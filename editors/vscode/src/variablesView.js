"use strict";
// The "Runbridge: Variables" view: `runbridge/variables` of the active editor's session,
// asked again when the view is shown, when the active editor's session changes, when a
// run of that session ends (it goes idle) and on its refresh button.
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
exports.VariablesView = exports.VARIABLES_VIEW = void 0;
const vscode = __importStar(require("vscode"));
const variables_1 = require("./core/variables");
exports.VARIABLES_VIEW = 'runbridge.variables';
class VariablesView {
    daemon;
    sessions;
    rows = [];
    changed = new vscode.EventEmitter();
    onDidChangeTreeData = this.changed.event;
    view;
    subscriptions;
    /** The latest request: older answers are dropped. */
    asked = 0;
    shownSession;
    constructor(daemon, sessions) {
        this.daemon = daemon;
        this.sessions = sessions;
        this.view = vscode.window.createTreeView(exports.VARIABLES_VIEW, { treeDataProvider: this });
        this.subscriptions = [
            this.view,
            this.changed,
            this.view.onDidChangeVisibility(() => void this.refresh()),
            sessions.onDidChangeCurrent(() => void this.refresh()),
            sessions.onDidChange((info) => {
                if (info.name === this.sessions.current && info.state !== 'busy' && info.state !== 'starting') {
                    void this.refresh(); // a run ended (idle), or the session closed or died
                }
            }),
            daemon.onDidChangeState(() => void this.refresh()),
        ];
    }
    getTreeItem(row) {
        const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
        item.description = row.description;
        item.tooltip = row.tooltip;
        item.iconPath = new vscode.ThemeIcon(row.message ? 'info' : 'symbol-variable');
        return item;
    }
    getChildren(element) {
        return element ? [] : this.rows;
    }
    /** Ask the daemon again (only while the view is visible; nothing starts a daemon). */
    async refresh() {
        if (!this.view.visible) {
            return;
        }
        const mine = ++this.asked;
        const session = this.sessions.current;
        const api = this.daemon.current();
        let rows;
        if (!api) {
            rows = [{ label: 'the runbridge daemon is not running', description: '', tooltip: '', message: true }];
        }
        else {
            try {
                rows = (0, variables_1.variableRows)(await api.variables(session));
            }
            catch (error) {
                rows = [(0, variables_1.variablesErrorRow)(session, error)];
            }
        }
        if (mine !== this.asked) {
            return;
        }
        this.rows = rows;
        this.shownSession = session;
        this.view.description = session;
        this.changed.fire();
    }
    /** The session whose variables are shown (for tests and the status of the view). */
    get session() {
        return this.shownSession;
    }
    dispose() {
        this.subscriptions.forEach((s) => s.dispose());
    }
}
exports.VariablesView = VariablesView;
