"use strict";
// Which session each document of this window is bound to, as the daemon says it
// (`runbridge/documentBound`). Pure: no `vscode` import.
//
// The daemon binds a document it has not seen run to its default session. A window
// whose session is another one (the runbridge.defaultSession setting, or the session
// the user picked last) binds such a document to it, once, so that the status bar,
// the runs and the language features of the document agree from the start.
Object.defineProperty(exports, "__esModule", { value: true });
exports.DocumentSessions = void 0;
class DocumentSessions {
    bound = new Map();
    /** Documents this window has bound itself, by the rule above or by the user's pick. */
    claimed = new Set();
    /** The session the daemon bound `uri` to, if it said. */
    get(uri) {
        return this.bound.get(uri);
    }
    /**
     * A `runbridge/documentBound` notification. Returns the session the window should bind
     * the document to instead (a `runbridge/bindDocument` to send), or undefined: when the
     * daemon bound a document this window has not bound yet to the daemon's default session
     * while the window's session is another one.
     */
    update(params, daemonDefault, windowSession) {
        this.bound.set(params.uri, params.session);
        if (this.claimed.has(params.uri)) {
            return undefined;
        }
        this.claimed.add(params.uri);
        if (daemonDefault !== undefined && params.session === daemonDefault && windowSession !== daemonDefault) {
            return windowSession;
        }
        return undefined;
    }
    /** The user bound `uri` to `session` (the daemon confirms with documentBound). */
    claim(uri, session) {
        this.claimed.add(uri);
        this.bound.set(uri, session);
    }
    /** A new connection: the daemon's bindings are per connection, so none is known. */
    clear() {
        this.bound.clear();
        this.claimed.clear();
    }
}
exports.DocumentSessions = DocumentSessions;
