// The rows of the Variables view from a `runbridge/variables` answer, or the one message
// row that says why there are none. Pure: no `vscode` import.

import { isRpcError } from '../api';
import { ErrorCodes, Variable, VariablesResult } from '../protocol';

export interface VariableRow {
  /** The variable's name, or the message. */
  label: string;
  /** `type · size = value` (empty for a message). */
  description: string;
  tooltip: string;
  /** A message row (no variable). */
  message: boolean;
}

function one(v: Variable): VariableRow {
  const size = v.size ? ` · ${v.size}` : '';
  return {
    label: v.name,
    // one line in the view (a data frame's repr has many); the tooltip keeps them
    description: `${v.type}${size} = ${v.value.replace(/\s+/g, ' ')}`,
    tooltip: `${v.name}: ${v.type}${size}\n${v.value}`,
    message: false,
  };
}

function message(text: string): VariableRow {
  return { label: text, description: '', tooltip: text, message: true };
}

/** The rows for a session's variables, in the daemon's order. */
export function variableRows(result: VariablesResult): VariableRow[] {
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
export function variablesErrorRow(session: string, error: unknown): VariableRow {
  if (isRpcError(error)) {
    if (error.code === ErrorCodes.Unsupported) {
      // the daemon's words ("not available for this kernel", and why)
      return message(error.message || 'not available for this kernel');
    }
    if (error.code === ErrorCodes.SessionNotFound) {
      return message(`session ${session} is not open (it opens on the first run)`);
    }
    return message(`session ${session}: ${error.message}`);
  }
  return message(`session ${session}: ${error instanceof Error ? error.message : String(error)}`);
}
