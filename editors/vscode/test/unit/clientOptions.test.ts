import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { documentSelector, initializationOptions } from '../../src/core/clientOptions';

/** editors/vscode, above out-test/test/unit. */
function extensionRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src', 'extension.ts'))) return dir;
    if (path.dirname(dir) === dir) throw new Error('editors/vscode not found');
  }
}

const pkg = JSON.parse(fs.readFileSync(path.join(extensionRoot(), 'package.json'), 'utf8'));
const setting = (key: string): unknown => pkg.contributes.configuration.properties[key].default;

describe('language client options', () => {
  it('syncs the runbridge languages, saved and untitled', () => {
    assert.deepEqual(documentSelector(['python', 'r']), [
      { language: 'python', scheme: 'file' },
      { language: 'python', scheme: 'untitled' },
      { language: 'r', scheme: 'file' },
      { language: 'r', scheme: 'untitled' },
    ]);
    assert.deepEqual(documentSelector([]), []);
  });

  it('sends languages and cellMarkers (the settings defaults) in initializationOptions', () => {
    const languages = setting('runbridge.languages') as string[];
    const cellMarkers = setting('runbridge.cellMarkers') as Record<string, string>;
    const options = initializationOptions({ outputCapMb: 10, defaultProfile: '', languages, cellMarkers });
    assert.deepEqual(options, { outputCapMb: 10, languages, cellMarkers });
    assert.ok(languages.includes('python'));
    assert.equal(initializationOptions({ outputCapMb: 2, defaultProfile: 'gpu', languages: [], cellMarkers: {} }).profile, 'gpu');
  });

  it('the default cell markers are valid regular expressions that never match a blank line', () => {
    // Python `re` and JavaScript agree on this subset (\s, \d, groups, alternation).
    const cellMarkers = setting('runbridge.cellMarkers') as Record<string, string>;
    for (const [language, pattern] of Object.entries(cellMarkers)) {
      const re = new RegExp(pattern);
      assert.equal(re.test(''), false, language);
      assert.equal(re.test('x = 1'), false, language);
    }
    assert.ok(new RegExp(cellMarkers.python).test('# %% load'));
    assert.ok(new RegExp(cellMarkers.python).test('# In[3]'));
    assert.ok(new RegExp(cellMarkers['*']).test('-- %%'));
  });
});
