// What the language client tells the daemon from the settings: the documents it syncs and
// the initializationOptions. Pure: no `vscode` import.

import { InitializationOptions } from '../protocol';

/** The runbridge languages' documents, saved (`file`) or not (`untitled`). */
export function documentSelector(languages: readonly string[]): { language: string; scheme: string }[] {
  return languages.flatMap((language) => ['file', 'untitled'].map((scheme) => ({ language, scheme })));
}

export interface ClientSettings {
  outputCapMb: number;
  defaultProfile: string;
  languages: string[];
  cellMarkers: Record<string, string>;
}

/** docs/protocol.md `initialize`: the settings the daemon reads (an empty profile is left out). */
export function initializationOptions(settings: ClientSettings): InitializationOptions {
  const options: InitializationOptions = {
    outputCapMb: settings.outputCapMb,
    languages: [...settings.languages],
    cellMarkers: { ...settings.cellMarkers },
  };
  if (settings.defaultProfile) {
    options.profile = settings.defaultProfile;
  }
  return options;
}
