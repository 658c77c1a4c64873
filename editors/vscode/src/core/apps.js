"use strict";
// "Runbridge: Open App…": what the command shows for a session's apps and a forward.
// No `vscode` import: the unit tests load this file.
Object.defineProperty(exports, "__esModule", { value: true });
exports.STOP_FORWARDING = exports.OPEN_IN_BROWSER = void 0;
exports.appPickItems = appPickItems;
exports.forwardNotice = forwardNotice;
function appPickItems(apps) {
    return apps.map((app) => ({
        label: app.name,
        description: `${app.protocol}${app.ports.length ? ` · port ${app.ports.join(', ')}` : ''}`,
        app: app.name,
    }));
}
exports.OPEN_IN_BROWSER = 'Open in Browser';
exports.STOP_FORWARDING = 'Stop Forwarding';
/** The information message of a forward and its buttons (a browser only for http apps). */
function forwardNotice(opened) {
    const message = `runbridge: app ${opened.app} of session ${opened.session} is forwarded to ${opened.url}`;
    const actions = opened.protocol === 'http' ? [exports.OPEN_IN_BROWSER, exports.STOP_FORWARDING] : [exports.STOP_FORWARDING];
    return { message, actions };
}
