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
  /** The profile the entry was listed on (openSession must name it). */
  profile?: string;
}

/** The rows under the separator, one per listed entry, in the server's order; none when
 * nothing is listed. With several profiles, each row names its profile. */
export function remotePicks(listings: ListRemoteResult[]): RemotePick[] {
  const entries = listings.flatMap((l) => l.sessions.map((remote) => ({ remote, profile: l.profile })));
  if (entries.length === 0) {
    return [];
  }
  const several = listings.filter((l) => l.sessions.length > 0).length > 1;
  const rows: RemotePick[] = [{ label: SERVER_SEPARATOR, separator: true }];
  for (const { remote, profile } of entries) {
    rows.push({
      label: remote.label,
      description: remote.description,
      ...(several ? { detail: `profile ${profile}` } : {}),
      remote,
      profile,
    });
  }
  return rows;
}
