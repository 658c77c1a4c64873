"use strict";
// The session picker's "on the server" part: what runbridge/listRemote answered, as
// picker rows (the daemon made each label, description and suggested name; this only lays
// them out). No `vscode` import: unit-tested.
Object.defineProperty(exports, "__esModule", { value: true });
exports.SERVER_SEPARATOR = void 0;
exports.remotePicks = remotePicks;
exports.SERVER_SEPARATOR = 'on the server';
/** The rows under the separator, one per listed entry, in the server's order; none when
 * nothing is listed. With several profiles, each row names its profile. */
function remotePicks(listings) {
    const entries = listings.flatMap((l) => l.sessions.map((remote) => ({ remote, profile: l.profile })));
    if (entries.length === 0) {
        return [];
    }
    const several = listings.filter((l) => l.sessions.length > 0).length > 1;
    const rows = [{ label: exports.SERVER_SEPARATOR, separator: true }];
    for (const { remote, profile } of entries) {
        const attached = remote.attachedAs ? ` · attached as ${remote.attachedAs}` : '';
        rows.push({
            label: remote.label,
            description: remote.description + attached,
            ...(several ? { detail: `profile ${profile}` } : {}),
            remote,
            profile,
        });
    }
    return rows;
}
