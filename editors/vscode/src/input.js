"use strict";
// runbridge/input: an InputBox that stays open when focus moves (ignoreFocusOut),
// masked for passwords; Escape cancels, which makes the daemon interrupt the run.
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
exports.askInput = askInput;
const vscode = __importStar(require("vscode"));
function askInput(params, token) {
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
        const status = vscode.window.setStatusBarMessage(`$(keyboard) runbridge: session ${params.session} waits for input`);
        const finish = (value) => {
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
