// The session status bar item's text and tooltip, made from the daemon's SessionInfo
// (a thin client: `summary` is the daemon's text of the session options, shown as is).

import { SessionInfo, SessionState } from '../protocol';

export const STATE_ICONS: Record<SessionState, string> = {
  starting: '$(loading~spin)',
  idle: '$(circle-large-outline)',
  busy: '$(sync~spin)',
  dead: '$(error)',
  closed: '$(circle-slash)',
};

/** `$(icon) runbridge: NAME (PROFILE) STATE [STATUS][ · SUMMARY]`. */
export function sessionStatusText(info: SessionInfo): string {
  const status = info.backendStatus && info.state === 'starting' ? ` ${info.backendStatus}` : '';
  const summary = info.summary ? ` · ${info.summary}` : '';
  return `${STATE_ICONS[info.state]} runbridge: ${info.name} (${info.profile}) ${info.state}${status}${summary}`;
}

/** The tooltip's paragraphs (Markdown). */
export function sessionTooltipLines(info: SessionInfo): string[] {
  return [
    `**${info.name}** — ${info.state}${info.backendStatus ? ` (${info.backendStatus})` : ''}`,
    `profile \`${info.profile}\`, backend \`${info.backend}\`${info.image ? `, image \`${info.image}\`` : ''}`,
    ...(info.summary ? [`options: ${info.summary}`] : []),
    info.workdir !== null ? `work folder \`${info.workdir}\`` : 'work folder unknown (an attached kernel of no notebook)',
    ...(info.attached ? ['Attached: closing it lets go of it (it keeps running on the server).'] : []),
    'Click to switch session.',
  ];
}
