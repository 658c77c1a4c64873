"use strict";
var __importDefault = (this && this.__importDefault) || function (mod) {
    return (mod && mod.__esModule) ? mod : { "default": mod };
};
Object.defineProperty(exports, "__esModule", { value: true });
const node_test_1 = require("node:test");
const strict_1 = __importDefault(require("node:assert/strict"));
const sessionStatus_1 = require("../../src/core/sessionStatus");
const base = {
    name: 'train',
    profile: 'bai',
    backend: 'backendai',
    image: 'python:3.11',
    state: 'idle',
    created: false,
    workdir: '/home/work',
};
(0, node_test_1.describe)('Session status bar item', () => {
    (0, node_test_1.it)("shows the daemon's summary of the session options as it is", () => {
        const info = { ...base, summary: 'cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount' };
        strict_1.default.equal((0, sessionStatus_1.sessionStatusText)(info), '$(circle-large-outline) runbridge: train (bai) idle · cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount');
        strict_1.default.ok((0, sessionStatus_1.sessionTooltipLines)(info).includes('options: cpu 2 · mem 4g · 2 × multi-node · sg gpu · 1 mount'));
    });
    (0, node_test_1.it)('shows nothing more without a summary (other backends) or with an empty one', () => {
        for (const info of [base, { ...base, summary: '' }]) {
            strict_1.default.equal((0, sessionStatus_1.sessionStatusText)(info), '$(circle-large-outline) runbridge: train (bai) idle');
            strict_1.default.ok(!(0, sessionStatus_1.sessionTooltipLines)(info).some((line) => line.startsWith('options:')));
        }
    });
    (0, node_test_1.it)('keeps the scheduler status while starting', () => {
        const info = { ...base, state: 'starting', backendStatus: 'PENDING', summary: 'cpu 2' };
        strict_1.default.equal((0, sessionStatus_1.sessionStatusText)(info), '$(loading~spin) runbridge: train (bai) starting PENDING · cpu 2');
    });
});
