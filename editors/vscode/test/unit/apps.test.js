"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
// "Runbridge: Open App…": the picker's entries and the forward's message and buttons.
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const apps_1 = require("../../src/core/apps");
(0, node_test_1.describe)('open app', () => {
    (0, node_test_1.it)('lists each app with its protocol and ports', () => {
        const items = (0, apps_1.appPickItems)([
            { name: 'jupyter', protocol: 'http', ports: [8081] },
            { name: 'ttyd', protocol: 'tcp', ports: [7681, 7682] },
            { name: 'bare', protocol: 'tcp', ports: [] },
        ]);
        strict_1.default.deepEqual(items.map((i) => [i.label, i.description, i.app]), [
            ['jupyter', 'http · port 8081', 'jupyter'],
            ['ttyd', 'tcp · port 7681, 7682', 'ttyd'],
            ['bare', 'tcp', 'bare'],
        ]);
    });
    (0, node_test_1.it)('offers the browser for http apps only', () => {
        const base = { appId: 'a1', session: 's', app: 'jupyter', localPort: 5000 };
        const http = (0, apps_1.forwardNotice)({ ...base, protocol: 'http', url: 'http://127.0.0.1:5000/' });
        strict_1.default.equal(http.message, 'runbridge: app jupyter of session s is forwarded to http://127.0.0.1:5000/');
        strict_1.default.deepEqual(http.actions, [apps_1.OPEN_IN_BROWSER, apps_1.STOP_FORWARDING]);
        const tcp = (0, apps_1.forwardNotice)({ ...base, app: 'ttyd', protocol: 'tcp', url: 'tcp://127.0.0.1:5000' });
        strict_1.default.deepEqual(tcp.actions, [apps_1.STOP_FORWARDING]);
    });
});
