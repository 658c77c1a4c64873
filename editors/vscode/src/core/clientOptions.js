"use strict";
// What the language client tells the daemon from the settings: the documents it syncs and
// the initializationOptions. Pure: no `vscode` import.
Object.defineProperty(exports, "__esModule", { value: true });
exports.documentSelector = documentSelector;
exports.initializationOptions = initializationOptions;
/** The runbridge languages' documents, saved (`file`) or not (`untitled`). */
function documentSelector(languages) {
    return languages.flatMap((language) => ['file', 'untitled'].map((scheme) => ({ language, scheme })));
}
/** docs/protocol.md `initialize`: the settings the daemon reads (an empty profile is left out). */
function initializationOptions(settings) {
    const options = {
        outputCapMb: settings.outputCapMb,
        languages: [...settings.languages],
        cellMarkers: { ...settings.cellMarkers },
    };
    if (settings.defaultProfile) {
        options.profile = settings.defaultProfile;
    }
    return options;
}
