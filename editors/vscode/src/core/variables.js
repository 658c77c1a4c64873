"use strict";
// The rows of the Variables view from a `runbridge/variables` answer, or the one message
// row that says why there are none. Pure: no `vscode` import.
Object.defineProperty(exports, "__esModule", { value: true });
exports.variableRows = variableRows;
exports.variablesErrorRow = variablesErrorRow;
const api_1 = require("../api");
const protocol_1 = require("../protocol");
function one(v) {
    const size = v.size ? ` · ${v.size}` : '';
    return {
        label: v.name,
        // one line in the view (a data frame's repr has many); the tooltip keeps them
        description: `${v.type}${size} = ${v.value.replace(/\s+/g, ' ')}`,
        tooltip: `${v.name}: ${v.type}${size}\n${v.value}`,
        message: false,
    };
}
function message(text) {
    return { label: text, description: '', tooltip: text, message: true };
}
/** The rows for a session's variables, in the daemon's order. */
function variableRows(result) {
    if (result.variables.length === 0) {
        return [message(`no variables in session ${result.session}`)];
    }
    const rows = result.variables.map(one);
    if (result.truncated) {
        rows.push(message(`… more variables than the ${rows.length} listed`));
    }
    return rows;
}
/** The message row for a failed `runbridge/variables` of `session`. */
function variablesErrorRow(session, error) {
    if ((0, api_1.isRpcError)(error)) {
        if (error.code === protocol_1.ErrorCodes.Unsupported) {
            // the daemon's words ("not available for this kernel", and why)
            return message(error.message || 'not available for this kernel');
        }
        if (error.code === protocol_1.ErrorCodes.SessionNotFound) {
            return message(`session ${session} is not open (it opens on the first run)`);
        }
        return message(`session ${session}: ${error.message}`);
    }
    return message(`session ${session}: ${error instanceof Error ? error.message : String(error)}`);
}
