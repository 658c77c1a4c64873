#!/usr/bin/env node
// End-to-end test of the runbridge VS Code extension in a real VS Code (code-server +
// headless Chromium, through shared/tools/vscode-e2e). `npm run test:e2e` from editors/vscode.
//
//   1. finds the harness (VSCODE_E2E_TOOLS, else <repo>/../shared/tools/vscode-e2e) and runs its setup.sh
//   2. builds dist/runbridge.vsix (`npm run package`) unless RUNBRIDGE_VSIX names one
//   3. copies test/e2e/workspace to a temp folder, makes a temp runbridge home (config/data/state/
//      cache/log folders) and points the extension at the daemon (RUNBRIDGE_DAEMON, else
//      <repo>/.venv/bin/runbridge)
//   4. runs the steps of scenario.mjs; screenshots, logs and the daemon log go to
//      editors/vscode/test-artifacts/e2e/ (cleared first)
//
// Exit code 0 = every step passed; 1 = a step failed or the test could not run (never a silent skip).
// Env: RUNBRIDGE_E2E_SETTINGS='{json}' adds user settings; RUNBRIDGE_E2E_KEEP_TEMP=1 keeps the temp folder; RUNBRIDGE_E2E_STOP_ON_FAILURE=1 skips the
// steps after the first failure (default: they still run, for more evidence); VSCODE_E2E_DEBUG=1
// logs the harness's progress.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const extDir = path.resolve(here, '../..');           // editors/vscode
const repo = path.resolve(extDir, '../..');           // repository root
const artifacts = process.env.RUNBRIDGE_E2E_ARTIFACTS
  ? path.resolve(extDir, process.env.RUNBRIDGE_E2E_ARTIFACTS)
  : path.join(extDir, 'test-artifacts', 'e2e');
const t00 = Date.now();

const stamp = () => new Date().toISOString().slice(11, 19);
const log = (m) => console.log(`[e2e ${stamp()}] ${m}`);
function die(msg) {
  console.error(`[e2e] ERROR: ${msg}`);
  process.exit(1);
}
const tail = (text, n) => String(text).split('\n').slice(-n).join('\n');

// ------------------------------------------------------------------ 1. harness
const tools = path.resolve(process.env.VSCODE_E2E_TOOLS || path.join(repo, '..', 'shared', 'tools', 'vscode-e2e'));
for (const f of ['run.mjs', 'setup.sh']) {
  if (!fs.existsSync(path.join(tools, f))) {
    die(`the vscode-e2e harness was not found: ${path.join(tools, f)} is missing.\n`
      + '  Set VSCODE_E2E_TOOLS to the folder holding run.mjs and setup.sh (shared/tools/vscode-e2e).');
  }
}
log(`harness: ${tools}`);

// ------------------------------------------------------------------ 2. setup (idempotent)
{
  const t = Date.now();
  const r = spawnSync('bash', [path.join(tools, 'setup.sh')], { stdio: 'inherit' });
  if (r.error) die(`could not run setup.sh: ${r.error.message}`);
  if (r.status !== 0) die(`setup.sh failed (exit ${r.status ?? r.signal})`);
  log(`setup.sh ok (${Date.now() - t} ms)`);
}

// ------------------------------------------------------------------ 3. vsix
let vsix;
if (process.env.RUNBRIDGE_VSIX) {
  vsix = path.resolve(process.env.RUNBRIDGE_VSIX);
  if (!fs.existsSync(vsix)) die(`RUNBRIDGE_VSIX=${process.env.RUNBRIDGE_VSIX}: no such file`);
  log(`vsix (RUNBRIDGE_VSIX): ${vsix}`);
} else {
  const t = Date.now();
  vsix = path.join(extDir, 'dist', 'runbridge.vsix');
  fs.rmSync(vsix, { force: true });
  log('building the vsix: npm run package');
  const r = spawnSync('npm', ['run', 'package'], { cwd: extDir, stdio: 'inherit' });
  if (r.error) die(`could not run npm: ${r.error.message}`);
  if (r.status !== 0) die(`npm run package failed (exit ${r.status ?? r.signal})`);
  if (!fs.existsSync(vsix)) die(`npm run package succeeded but ${vsix} does not exist`);
  log(`vsix built: ${vsix} (${(fs.statSync(vsix).size / 1024).toFixed(0)} KiB, ${Date.now() - t} ms)`);
}

// ------------------------------------------------------------------ 4. workspace, runbridge home, settings
const daemon = path.resolve(process.env.RUNBRIDGE_DAEMON || path.join(repo, '.venv', 'bin', 'runbridge'));
try {
  fs.accessSync(daemon, fs.constants.X_OK);
} catch {
  die(`the runbridge daemon ${daemon} does not exist or is not executable (set RUNBRIDGE_DAEMON)`);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'runbridge-e2e-'));
const workspace = path.join(tmp, 'workspace');
fs.cpSync(path.join(here, 'workspace'), workspace, { recursive: true });
const rbHome = path.join(tmp, 'runbridge-home');
const dirs = {
  RUNBRIDGE_CONFIG_DIR: path.join(rbHome, 'config'),
  RUNBRIDGE_DATA_DIR: path.join(rbHome, 'data'),
  RUNBRIDGE_STATE_DIR: path.join(rbHome, 'state'),
  RUNBRIDGE_CACHE_DIR: path.join(rbHome, 'cache'),
  RUNBRIDGE_LOG_DIR: path.join(rbHome, 'log'),
};
for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
// the session host of this run (never the user's own): its socket in the temp folder
const hostSocket = path.join(tmp, 'run', 'host.sock');
const daemonEnv = {
  ...dirs,
  RUNBRIDGE_HOST_SOCKET: hostSocket,
  // a config file that does not exist = built-in defaults (never the user's ~/.config/runbridge)
  RUNBRIDGE_CONFIG: path.join(dirs.RUNBRIDGE_CONFIG_DIR, 'config.toml'),
  RUNBRIDGE_LOG_LEVEL: 'DEBUG',
};
const settings = {
  'runbridge.daemon.path': daemon,
  'runbridge.daemon.env': daemonEnv,
  'runbridge.defaultSession': 'e2e',
  // replay enough runs after the reload to bring back the image of step 03 too
  'runbridge.history.runs': 50,
  // completion offers only what the language features give (here: runbridge's, from the
  // kernel), never the words of the document, so a name found must come from the kernel
  'editor.wordBasedSuggestions': 'off',
};
if (process.env.RUNBRIDGE_E2E_SETTINGS) {
  // extra user settings as JSON, e.g. '{"runbridge.daemon.keepSessions": false}'
  try {
    Object.assign(settings, JSON.parse(process.env.RUNBRIDGE_E2E_SETTINGS));
  } catch (e) {
    die(`RUNBRIDGE_E2E_SETTINGS is not a JSON object: ${e.message}`);
  }
}
log(`workspace: ${workspace}`);
log(`runbridge home: ${rbHome}`);
log(`daemon: ${daemon}`);

fs.rmSync(artifacts, { recursive: true, force: true });
fs.mkdirSync(artifacts, { recursive: true });

// ------------------------------------------------------------------ 5. run the scenario
const { startVSCode } = await import(pathToFileURL(path.join(tools, 'run.mjs')).href);
const scenario = await import(pathToFileURL(path.join(here, 'scenario.mjs')).href);
const lines = scenario.findLines(workspace);
const STEP_GUARD_MS = 180000; // a step's own waits are <= 60 s each; this only catches a hang
const stopOnFailure = !!process.env.RUNBRIDGE_E2E_STOP_ON_FAILURE;

const results = [];
let vs;
let startError = null;
let firstFailureShot = false;
try {
  const t = Date.now();
  try {
    vs = await startVSCode({
      vsix,
      folder: workspace,
      settings,
      viewport: { width: 1400, height: 1000 },
      log: process.env.VSCODE_E2E_DEBUG ? (m) => log(`[vscode-e2e] ${m}`) : undefined,
    });
    log(`VS Code ready in ${Date.now() - t} ms (${vs.url})`);
  } catch (e) {
    startError = e;
    throw e;
  }
  await vs.screenshot(path.join(artifacts, '00-started.png'));

  // RUNBRIDGE_E2E_STEPS=name,name runs only those steps (e.g. a second pass with other settings)
  const only = (process.env.RUNBRIDGE_E2E_STEPS || '').split(',').map((x) => x.trim()).filter(Boolean);
  const chosen = only.length ? scenario.steps.filter((st) => only.includes(st.name)) : scenario.steps;
  if (only.length && chosen.length !== only.length) die(`RUNBRIDGE_E2E_STEPS names unknown steps: ${only.join(', ')}`);
  for (const [i, step] of chosen.entries()) {
    const nn = String(i + 1).padStart(2, '0');
    const base = `${nn}-${step.name}`;
    const res = { step: base, title: step.title, ok: false, ms: 0, notes: [] };
    results.push(res);
    if (stopOnFailure && results.some((r) => r.error)) {
      res.skipped = true;
      res.error = 'not run (an earlier step failed; RUNBRIDGE_E2E_STOP_ON_FAILURE)';
      continue;
    }
    log(`step ${base}: ${step.title}`);
    const ctx = {
      lines, workspace, artifacts, rbHome, daemon, daemonEnv,
      hostSocket: settings['runbridge.daemon.keepSessions'] === false ? undefined : hostSocket,
      /** A second VS Code (its own code-server and browser) on another copy of the workspace,
       * with the same settings: the same session host. The step stops it. */
      openAnotherWindow: async () => {
        const folder = path.join(tmp, 'workspace-2');
        if (!fs.existsSync(folder)) fs.cpSync(path.join(here, 'workspace'), folder, { recursive: true });
        return startVSCode({ vsix, folder, settings, viewport: { width: 1400, height: 1000 } });
      },
      log: (m) => log(`  ${m}`),
      note: (m) => { res.notes.push(m); log(`  note: ${m}`); },
      shot: (suffix) => vs.screenshot(path.join(artifacts, `${base}-${suffix}.png`)),
    };
    // leave no quick input / find widget from an earlier failed step in the way (only then:
    // an Escape typed into a remote terminal would reach its shell, which outlives a reload)
    const leftOpen = vs.page.locator('.quick-input-widget:visible, .find-widget.visible');
    if (i > 0 && (await leftOpen.count().catch(() => 0)) > 0) await vs.page.keyboard.press('Escape').catch(() => {});
    // error toasts of a failed step (already recorded) would make this step fail at once
    if (results.some((r) => r.error)) await vs.dismissNotifications().catch(() => {});
    const t0 = Date.now();
    let timer;
    try {
      await Promise.race([
        step.run(vs, ctx),
        new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`step guard: no end after ${STEP_GUARD_MS} ms`)), STEP_GUARD_MS); }),
      ]);
      res.ok = true;
      res.ms = Date.now() - t0;
      await vs.screenshot(path.join(artifacts, `${base}.png`));
      log(`  ok (${res.ms} ms)`);
    } catch (e) {
      res.ms = Date.now() - t0;
      res.error = String(e.message).replace(/\x1b\[[0-9;]*m/g, ''); // Playwright colours its call logs
      const toasts = await vs.notifications().catch(() => []);
      if (toasts.length) res.error += `\nvisible notifications: ${toasts.map((t) => JSON.stringify(t)).join(', ')}`;
      log(`  FAILED (${res.ms} ms): ${res.error}`);
      await vs.screenshot(path.join(artifacts, `${base}.failure.png`)).catch(() => {});
      if (!firstFailureShot) {
        firstFailureShot = true;
        await vs.screenshot(path.join(artifacts, 'failure.png')).catch(() => {});
      }
    } finally {
      clearTimeout(timer);
    }
  }
} catch (e) {
  if (!startError) results.push({ step: 'harness', ok: false, ms: 0, error: e.stack || e.message, notes: [] });
  log(`ERROR: ${e.stack || e.message}`);
  if (vs?.page) await vs.screenshot(path.join(artifacts, 'failure.png')).catch(() => {});
} finally {
  if (vs) {
    try {
      fs.writeFileSync(path.join(artifacts, 'code-server.log'), vs.codeServerLogTail(400) + '\n');
      fs.writeFileSync(path.join(artifacts, 'browser-console.log'), vs.consoleMessages.join('\n') + '\n');
      // VS Code's own logs: extension host, and the extension's output channels (exthost*/output_logging_*)
      const vsLogs = path.join(vs.tmp, 'user-data', 'logs');
      if (fs.existsSync(vsLogs)) fs.cpSync(vsLogs, path.join(artifacts, 'vscode-logs'), { recursive: true });
    } catch { /* best effort */ }
    await vs.stop().catch((e) => log(`stop: ${e.message}`));
  }
}

// ------------------------------------------------------------------ the session host outlives VS Code: stop it
let hostStopped = 'no session host was left running';
if (fs.existsSync(hostSocket)) {
  try {
    const client = await scenario.rawHostClient(hostSocket);
    await client.request('runbridge/stopDaemon', {}, 30000);
    await client.close();
    const end = Date.now() + 15000;
    while (fs.existsSync(hostSocket) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    hostStopped = fs.existsSync(hostSocket) ? 'the session host did not go within 15 s of stopDaemon' : 'the session host stopped (runbridge/stopDaemon)';
  } catch (e) {
    hostStopped = `stopping the session host failed: ${e.message}`;
  }
  log(hostStopped);
}

// ------------------------------------------------------------------ artifacts, leftovers, summary
// the daemon log folder (daemon.log, kernels/*.log)
const logCopy = path.join(artifacts, 'runbridge-log');
if (fs.existsSync(dirs.RUNBRIDGE_LOG_DIR)) fs.cpSync(dirs.RUNBRIDGE_LOG_DIR, logCopy, { recursive: true });
const daemonLog = path.join(logCopy, 'daemon.log');

// processes still running with our temp runbridge home in their environment (daemon, kernels,
// remote shells) outlived VS Code: report them, then end them by PID.
const leftovers = [];
for (const d of fs.readdirSync('/proc')) {
  if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
  try {
    if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').includes(`RUNBRIDGE_LOG_DIR=${dirs.RUNBRIDGE_LOG_DIR}`)) {
      leftovers.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    }
  } catch { /* gone or not ours */ }
}
for (const p of leftovers) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }

if (process.env.RUNBRIDGE_E2E_KEEP_TEMP) log(`temp folder kept: ${tmp}`);
else fs.rmSync(tmp, { recursive: true, force: true, maxRetries: 3 });

const failed = !!startError || results.length === 0 || results.some((r) => !r.ok);
fs.writeFileSync(path.join(artifacts, 'summary.json'), JSON.stringify({
  ok: !failed, totalMs: Date.now() - t00, vscodeTimings: vs?.timings, results, leftovers,
}, null, 2) + '\n');

console.log('\n=== runbridge e2e summary ===');
if (startError) console.log(`VS Code did not start: ${startError.message}`);
for (const r of results) {
  const mark = r.ok ? 'PASS' : r.skipped ? 'SKIP' : 'FAIL';
  console.log(`${mark}  ${r.step.padEnd(22)} ${String(r.ms).padStart(6)} ms  ${r.title || ''}`);
  for (const n of r.notes || []) console.log(`        note: ${n}`);
  if (!r.ok && r.error) console.log(`        ${r.error.split('\n').join('\n        ')}`);
}
console.log(`note: ${hostStopped}`);
if (leftovers.length) {
  console.log(`note: ${leftovers.length} runbridge process(es) were still running after VS Code and the session host stopped; ended by PID:`);
  for (const p of leftovers) console.log(`        ${p.pid} ${p.cmd}`);
}
if (failed) {
  if (vs) console.log(`\n--- code-server log (tail)\n${vs.codeServerLogTail(30)}`);
  if (fs.existsSync(daemonLog)) console.log(`\n--- runbridge daemon log (tail)\n${tail(fs.readFileSync(daemonLog, 'utf8'), 40)}`);
  else console.log(`\n(no runbridge daemon log at ${dirs.RUNBRIDGE_LOG_DIR}/daemon.log: did the daemon start?)`);
}
console.log(`\n${failed ? 'FAILED' : 'PASSED'}: ${results.filter((r) => r.ok).length}/${results.filter((r) => r.step !== "harness").length || scenario.steps.length} steps passed in ${((Date.now() - t00) / 1000).toFixed(1)} s; artifacts: ${artifacts}`);
process.exit(failed ? 1 : 0);
