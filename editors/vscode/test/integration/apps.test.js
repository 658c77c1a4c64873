"use strict";
// Apps through the real daemon: a local session has none (Unsupported, saying why), and an
// unknown forward id is InvalidParams naming appId (Backend.AI forwards: tests/backendai).
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
const strict_1 = __importDefault(require("node:assert/strict"));
const node_test_1 = require("node:test");
const P = __importStar(require("../../src/protocol"));
const daemon_1 = require("./daemon");
(0, node_test_1.describe)('apps', { timeout: 120_000 }, () => {
    let d;
    (0, node_test_1.before)(async () => {
        d = await daemon_1.Daemon.start({ label: 'apps' });
    });
    (0, node_test_1.after)(async () => {
        if (d !== undefined) {
            strict_1.default.equal(await d.stop(), 0, 'daemon exit code after shutdown + exit');
        }
    });
    (0, node_test_1.test)('listApps, openApp and closeApp errors', { timeout: 45_000 }, (0, daemon_1.withDaemon)(() => d, async (d) => {
        await d.api.openSession({ name: 'it-apps' });
        const listed = await (0, daemon_1.rpcFailure)(d.api.listApps('it-apps'));
        strict_1.default.equal(listed.code, P.ErrorCodes.Unsupported);
        strict_1.default.match(listed.message, /Backend\.AI feature/);
        const opened = await (0, daemon_1.rpcFailure)(d.api.openApp({ session: 'it-apps', app: 'jupyter' }));
        strict_1.default.equal(opened.code, P.ErrorCodes.Unsupported);
        const closed = await (0, daemon_1.rpcFailure)(d.api.closeApp('no-such-app'));
        strict_1.default.equal(closed.code, P.ErrorCodes.InvalidParams);
        strict_1.default.equal(closed.data?.field, 'appId');
    }));
});
