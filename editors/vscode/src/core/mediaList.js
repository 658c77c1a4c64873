"use strict";
// The media panel's list of a session: newest first, bounded, and displays with an id
// updated in place. Pure: no `vscode` import.
Object.defineProperty(exports, "__esModule", { value: true });
exports.placeMedia = placeMedia;
/**
 * Puts a record's item into `items` (newest first, at most `max`). A record of a display
 * update replaces every item of that display where it stands (Jupyter updates them all)
 * and is ignored when none is shown, as Jupyter front ends do; any other record is added.
 */
function placeMedia(items, item, display, max) {
    if (display?.update) {
        let updated = false;
        for (let i = 0; i < items.length; i++) {
            if (items[i].displayId === display.displayId) {
                items[i] = { ...item, id: items[i].id, displayId: display.displayId };
                updated = true;
            }
        }
        return updated ? 'updated' : 'ignored';
    }
    items.unshift(display ? { ...item, displayId: display.displayId } : item);
    items.length = Math.min(items.length, max);
    return 'added';
}
