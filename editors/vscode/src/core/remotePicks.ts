// The session picker's "on the server" part: what runbridge/listRemote answered, as
// picker rows (the daemon made each label, description and suggested name; this only lays
// them out). No `vscode` import: unit-tested.

import { ListRemoteResult, RemoteSession } from '../protocol';

export const SERVER_SEPARATOR = 'on the server';

export interface RemotePick {
  label: string;
  description?: string;
  detail?: string;
  /** A separator row (not pickable). */
  separator?: true;
  remote?: RemoteSession;
}

/** The rows under the separator, one per listed entry, in the daemon's order; none when
 * nothing is listed. With entries of several profiles, each row names its profile. */
export function remotePicks(listing: ListRemoteResult): RemotePick[] {
  if (listing.sessions.length === 0) {
    return [];
  }
  const several = new Set(listing.sessions.map((s) => s.profile)).size > 1;
  const rows: RemotePick[] = [{ label: SERVER_SEPARATOR, separator: true }];
  for (const remote of listing.sessions) {
    rows.push({
      label: remote.label,
      description: remote.description,
      ...(several ? { detail: `profile ${remote.profile}` } : {}),
      remote,
    });
  }
  return rows;
}
