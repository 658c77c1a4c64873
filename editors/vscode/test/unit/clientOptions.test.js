"use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    var desc = Object.getOwnPropertyDescriptor(m, k);
    if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
      desc = { enumerable: true, get: function() { return m[k]; } };
    }
    Object.defineProperty(o, k2, desc);
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __setModuleDefault = (this && this.__setModuleDefault) || (Object.create ? (function(o, v) {
    Object.defineProperty(o, "default", { enumerable: true, value: v });
}) : function(o, v) {
    o["default"] = v;
});
var __importStar = (this && this.__importStar) || (function () {
    var ownKeys = function(o) {
        ownKeys = Object.getOwnPropertyNames || function (o) {
            var ar = [];
            for (var k in o) if (Object.prototype.hasOwnProperty.call(o, k)) ar[ar.length] = k;
            return ar;
        };
        return ownKeys(o);
    };
    return function (mod) {
        if (mod && mod.__esModule) return mod;
        var result = {};
        if (mod != null) for (var k = ownKeys(mod), i = 0; i < k.length; i++) if (k[i] !== "default") __createBinding(result, mod, k[i]);
        __setModuleDefault(result, mod);
        return result;
    };
})();
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const fs = __importStar(require("node:fs"));
const path = __importStar(require("node:path"));
const clientOptions_1 = require("../../src/core/clientOptions");
/** editors/vscode, above out-test/test/unit. */
function extensionRoot() {
    for (let dir = __dirname;; dir = path.dirname(dir)) {
        if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src', 'extension.ts')))
            return dir;
        if (path.dirname(dir) === dir)
            throw new Error('editors/vscode not found');
    }
}
const pkg = JSON.parse(fs.readFileSync(path.join(extensionRoot(), 'package.json'), 'utf8'));
const setting = (key) => pkg.contributes.configuration.properties[key].default;
(0, node_test_1.describe)('language client options', () => {
    (0, node_test_1.it)('syncs the runbridge languages, saved and untitled', () => {
        strict_1.default.deepEqual((0, clientOptions_1.documentSelector)(['python', 'r']), [
            { language: 'python', scheme: 'file' },
            { language: 'python', scheme: 'untitled' },
            { language: 'r', scheme: 'file' },
            { language: 'r', scheme: 'untitled' },
        ]);
        strict_1.default.deepEqual((0, clientOptions_1.documentSelector)([]), []);
    });
    (0, node_test_1.it)('sends languages and cellMarkers (the settings defaults) in initializationOptions', () => {
        const languages = setting('runbridge.languages');
        const cellMarkers = setting('runbridge.cellMarkers');
        const options = (0, clientOptions_1.initializationOptions)({ outputCapMb: 10, defaultProfile: '', languages, cellMarkers });
        strict_1.default.deepEqual(options, { outputCapMb: 10, languages, cellMarkers });
        strict_1.default.ok(languages.includes('python'));
        strict_1.default.equal((0, clientOptions_1.initializationOptions)({ outputCapMb: 2, defaultProfile: 'gpu', languages: [], cellMarkers: {} }).profile, 'gpu');
    });
    (0, node_test_1.it)('the default cell markers are valid regular expressions that never match a blank line', () => {
        // Python `re` and JavaScript agree on this subset (\s, \d, groups, alternation).
        const cellMarkers = setting('runbridge.cellMarkers');
        for (const [language, pattern] of Object.entries(cellMarkers)) {
            const re = new RegExp(pattern);
            strict_1.default.equal(re.test(''), false, language);
            strict_1.default.equal(re.test('x = 1'), false, language);
        }
        strict_1.default.ok(new RegExp(cellMarkers.python).test('# %% load'));
        strict_1.default.ok(new RegExp(cellMarkers.python).test('# In[3]'));
        strict_1.default.ok(new RegExp(cellMarkers['*']).test('-- %%'));
    });
});
