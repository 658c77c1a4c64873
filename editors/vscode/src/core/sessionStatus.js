"use strict";
// The session status bar item's text and tooltip, made from the daemon's SessionInfo
// (a thin client: `summary` is the daemon's text of the session options, shown as is).
Object.defineProperty(exports, "__esModule", { value: true });
exports.STATE_ICONS = void 0;
exports.sessionStatusText = sessionStatusText;
exports.sessionTooltipLines = sessionTooltipLines;
exports.STATE_ICONS = {
    starting: '$(loading~spin)',
    idle: '$(circle-large-outline)',
    busy: '$(sync~spin)',
    dead: '$(error)',
    closed: '$(circle-slash)',
};
/** `$(icon) runbridge: NAME (PROFILE) STATE [STATUS][ · SUMMARY]`. */
function sessionStatusText(info) {
    const status = info.backendStatus && info.state === 'starting' ? ` ${info.backendStatus}` : '';
    const summary = info.summary ? ` · ${info.summary}` : '';
    return `${exports.STATE_ICONS[info.state]} runbridge: ${info.name} (${info.profile}) ${info.state}${status}${summary}`;
}
/** The tooltip's paragraphs (Markdown). */
function sessionTooltipLines(info) {
    return [
        `**${info.name}** — ${info.state}${info.backendStatus ? ` (${info.backendStatus})` : ''}`,
        `profile \`${info.profile}\`, backend \`${info.backend}\`${info.image ? `, image \`${info.image}\`` : ''}`,
        ...(info.summary ? [`options: ${info.summary}`] : []),
        info.workdir !== null ? `work folder \`${info.workdir}\`` : 'work folder unknown (an attached kernel of no notebook)',
        ...(info.attached ? ['Attached: closing it lets go of it (it keeps running on the server).'] : []),
        'Click to switch session.',
    ];
}
