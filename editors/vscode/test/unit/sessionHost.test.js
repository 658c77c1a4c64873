"use strict";
// The command lines that start the session host or the in-process daemon, and the host's
// environment (pure parts of src/core/sessionHost.ts; connecting is in test/integration).
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const sessionHost_1 = require("../../src/core/sessionHost");
const script = { command: '/venv/bin/runbridge', args: ['serve'], source: 'path' };
const viaPython = { command: '/usr/bin/python3', args: ['-m', 'runbridge', 'serve', '--log-level', 'DEBUG'], source: 'python' };
(0, node_test_1.describe)('hostCommand', () => {
    (0, node_test_1.it)('appends --host --socket PATH to the daemon command', () => {
        strict_1.default.deepEqual((0, sessionHost_1.hostCommand)(script, '/run/user/1000/runbridge/host.sock'), {
            command: '/venv/bin/runbridge',
            args: ['serve', '--host', '--socket', '/run/user/1000/runbridge/host.sock'],
            source: 'path',
        });
    });
    (0, node_test_1.it)('keeps the user arguments and the python -m form', () => {
        strict_1.default.deepEqual((0, sessionHost_1.hostCommand)(viaPython, '/tmp/runbridge-5/host.sock').args, [
            '-m', 'runbridge', 'serve', '--log-level', 'DEBUG', '--host', '--socket', '/tmp/runbridge-5/host.sock',
        ]);
        strict_1.default.deepEqual(viaPython.args, ['-m', 'runbridge', 'serve', '--log-level', 'DEBUG'], 'the input is not changed');
    });
});
(0, node_test_1.describe)('standaloneCommand', () => {
    (0, node_test_1.it)('appends --standalone (plain `serve` would be a relay to the host)', () => {
        strict_1.default.deepEqual((0, sessionHost_1.standaloneCommand)(script).args, ['serve', '--standalone']);
        strict_1.default.deepEqual(script.args, ['serve']);
    });
});
(0, node_test_1.describe)('hostEnvironment', () => {
    (0, node_test_1.it)('drops RUNBRIDGE_STANDALONE and keeps everything else', () => {
        const env = { RUNBRIDGE_STANDALONE: '1', RUNBRIDGE_DATA_DIR: '/d', PATH: '/bin' };
        strict_1.default.deepEqual((0, sessionHost_1.hostEnvironment)(env), { RUNBRIDGE_DATA_DIR: '/d', PATH: '/bin' });
        strict_1.default.equal(env.RUNBRIDGE_STANDALONE, '1', 'the input is not changed');
    });
});
