// The user path of the runbridge VS Code extension, step by step, in a real VS Code
// (driven by shared/tools/vscode-e2e; run through run-e2e.mjs, which builds the vsix,
// prepares the workspace and settings, times the steps and collects the artifacts).
//
// Each step does what a user would do, then waits (<= 60 s) for the visible result.
// Line numbers are never hard-coded: they are looked up in workspace/demo.py by text.

import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';

export const SESSION = 'e2e';
export const OUTPUT_TERMINAL = `runbridge: ${SESSION}`;
export const REMOTE_TERMINAL = `runbridge terminal: ${SESSION}`;
export const MEDIA_PANEL = `runbridge media: ${SESSION}`;
export const STATUS_TEXT = `runbridge: ${SESSION}`;
export const DEMO_FILE = 'demo.py';

// The lines of demo.py the scenario uses (exact text, leading/trailing blanks ignored).
export const LINES = {
  hello: 'print("hello from runbridge", 6 * 7)',
  input: 'name = input("Your name: ")',
  greet: 'print("hi", name)',
  imageFirst: 'import struct, zlib',
  imageLast: 'display(Image(data=png_bytes))',
  svgShow: `from IPython.display import SVG; bar = display(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#0000ff"/></svg>'), display_id=True)`,
  svgUpdate: `bar.update(SVG('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><rect width="8" height="8" fill="#00ff00"/></svg>'))`,
  sleep: 'import time; print("asleep", "now", flush=True); time.sleep(120)',
  after: 'print("after interrupt")',
  zeroDiv: 'result = 10 / 0',
  password: 'import getpass; token = getpass.getpass("Token: ")',
  tokenLength: 'print("token length", len(token))',
  afterPassword: 'print("after password escape")',
  readUpload: 'print(open("data.csv").read().strip())',
  kernelOnly: 'kernel_only_name_42 = 1',
  documented: 'def rb_documented(a, b): "rb docstring for the hover"; return a + b',
  completeMe: 'kernel_only_n',
  cellMarker: '# %% a cell for the code lens',
  cellEnd: '# %% the end of the cell above',
};

export const UPLOAD_FILE = 'data.csv';
export const SECRET = 'rb-s3cret-XYZ';

/** {key: {line (1-based), text}} for LINES, read from the workspace copy of demo.py. */
export function findLines(workspace) {
  const rows = fs.readFileSync(path.join(workspace, DEMO_FILE), 'utf8').split('\n');
  const out = {};
  for (const [key, text] of Object.entries(LINES)) {
    const hits = rows.flatMap((r, i) => (r.trim() === text ? [i + 1] : []));
    if (hits.length !== 1) throw new Error(`${DEMO_FILE}: expected exactly one line "${text}", found ${hits.length}`);
    out[key] = { line: hits[0], text, length: rows[hits[0] - 1].length };
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ helpers

/** Name of the active terminal (from its xterm textarea's aria-label "Terminal N, NAME"). */
export async function activeTerminalName(vs) {
  return vs.page.evaluate(() => {
    const ta = document.querySelector('.terminal-wrapper.active textarea');
    const first = (ta?.getAttribute('aria-label') || '').split('\n')[0];
    const m = /^Terminal \d+, (.*)$/.exec(first);
    if (m) return m[1].trim();
    const tab = document.querySelector('.terminal-tabs-entry.is-active');
    return tab ? tab.innerText.trim() : null;
  });
}

/** Names of all terminals shown in the terminal tab list (or the one wrapper when alone). */
export async function terminalNames(vs) {
  return vs.page.evaluate(() => [...document.querySelectorAll('.terminal-wrapper textarea')]
    .map((ta) => /^Terminal \d+, (.*)$/.exec((ta.getAttribute('aria-label') || '').split('\n')[0])?.[1]?.trim())
    .filter(Boolean));
}

async function waitForActiveTerminal(vs, name, timeout) {
  const end = Date.now() + timeout;
  let last = null;
  for (;;) {
    last = await activeTerminalName(vs).catch(() => null);
    if (last === name) return;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeout} ms waiting for the active terminal to be "${name}"; `
        + `active: ${JSON.stringify(last)}, all: ${JSON.stringify(await terminalNames(vs).catch(() => []))}`);
    }
    await sleep(150);
  }
}

/** Is the active editor tab dirty (e.g. Shift+Enter fell through and inserted a newline)? */
async function activeTabDirty(vs) {
  return vs.page.locator('.editor-group-container.active .tabs-container .tab.active.dirty').count().then((n) => n > 0, () => false);
}

/** Messages of visible error notification toasts (e.g. the daemon did not start). */
export async function errorToasts(vs) {
  return vs.page.$$eval('.notification-toast .notification-list-item', (items) => items
    .filter((i) => i.querySelector('.codicon-error'))
    .map((i) => {
      const msg = (i.querySelector('.notification-list-item-message')?.textContent || '').trim();
      const src = (i.querySelector('.notification-list-item-source')?.textContent || '').trim();
      return src ? `${msg} [${src}]` : msg;
    })).catch(() => []);
}

/**
 * Wait for text in the active terminal, failing fast (with a clear message) when an error
 * notification mentioning runbridge shows up, or when the editor became dirty: that means
 * Shift+Enter did not reach runbridge.runSelection and typed a newline.
 */
async function waitForOutput(vs, want, timeout, what) {
  const end = Date.now() + timeout;
  const test = want instanceof RegExp ? (s) => want.test(s) : (s) => s.replace(/\s+/g, ' ').includes(want);
  let last = '';
  for (;;) {
    last = await vs.readTerminal().catch(() => '');
    if (test(last)) return;
    const errors = (await errorToasts(vs)).filter((m) => /runbridge/i.test(m));
    if (errors.length) throw new Error(`${what}: error notification instead of output: ${errors.join(' | ')}`);
    if (await activeTabDirty(vs)) {
      throw new Error(`${what}: the editor became dirty: Shift+Enter was handled by the editor (newline inserted), `
        + 'not by runbridge.runSelection (keybinding "when" clause false: extension not active or context key not set?)');
    }
    if (Date.now() > end) {
      const name = await activeTerminalName(vs).catch(() => null);
      throw new Error(`${what}: timed out after ${timeout} ms waiting for ${want} in the active terminal `
        + `(${JSON.stringify(name)}); its visible rows:\n${last || '(empty)'}`);
    }
    await sleep(150);
  }
}

/** Put the cursor at the start of a demo.py line, focus the editor, press Shift+Enter. */
async function shiftEnterOn(vs, ctx, key) {
  const { line } = ctx.lines[key];
  await vs.goTo(line, 1);
  await vs.focusEditor();
  await vs.press('Shift+Enter');
  ctx.log(`Shift+Enter on ${DEMO_FILE}:${line}: ${ctx.lines[key].text}`);
}

/** Show the output terminal of the session (a user clicks it, or runs Runbridge: Show Output). */
async function showOutput(vs) {
  await vs.runCommand('Runbridge: Show Output');
  await waitForActiveTerminal(vs, OUTPUT_TERMINAL, 10000);
}

/** Clear the (active) output terminal, so text of earlier runs cannot satisfy a wait. */
async function clearOutput(vs) {
  const visible = await vs.page.locator('.terminal-wrapper.active .xterm-rows').first().isVisible().catch(() => false);
  if (!visible || (await activeTerminalName(vs).catch(() => null)) !== OUTPUT_TERMINAL) {
    await showOutput(vs);
  }
  // Runbridge: Show Output reveals (and focuses) the terminal a moment after the command returns;
  // a palette opened in that moment loses focus and closes. Let it settle, retry if it happens.
  await sleep(1000);
  for (let attempt = 1; ; attempt++) {
    try {
      // a palette that closed under the harness would wait 30 s in fill(): fail fast instead
      vs.page.setDefaultTimeout(8000);
      await vs.runCommand('workbench.action.terminal.clear', { timeout: 8000 });
      break;
    } catch (e) {
      if (attempt >= 3) throw new Error(`Terminal: Clear from the palette failed ${attempt} times: ${e.message.split('\n')[0]}`);
      await vs.page.keyboard.press('Escape').catch(() => {});
      await sleep(1000);
    } finally {
      vs.page.setDefaultTimeout(vs.timeout || 30000);
    }
  }
  const end = Date.now() + 10000;
  for (;;) {
    const rows = (await vs.readTerminal().catch(() => '')).trim();
    if (rows.split('\n').filter((r) => r.trim()).length <= 1) return;
    if (Date.now() > end) throw new Error(`Terminal: Clear did not clear the output terminal; it shows:\n${rows}`);
    await sleep(150);
  }
}

/** The Problems status bar item: {errors, warnings, label}. */
async function problemsCount(vs) {
  return vs.page.evaluate(() => {
    const el = document.getElementById('status.problems');
    if (!el) return null;
    const label = `${el.getAttribute('aria-label') || ''} | ${el.innerText.replace(/\s+/g, ' ').trim()}`;
    const num = (re) => { const m = re.exec(label); return m ? Number(m[1]) : null; };
    return { errors: num(/(\d+)\s+Errors?/i) ?? num(/Errors?:\s*(\d+)/i), warnings: num(/(\d+)\s+Warnings?/i), label };
  });
}

/** Visible notification toasts whose text matches re. */
async function waitForNotification(vs, re, timeout, what) {
  const end = Date.now() + timeout;
  let last = [];
  for (;;) {
    last = await vs.notifications().catch(() => []);
    const hit = last.find((n) => re.test(typeof n === 'string' ? n : JSON.stringify(n)));
    if (hit) return hit;
    const errors = (await errorToasts(vs)).filter((m) => /runbridge/i.test(m));
    if (errors.length) throw new Error(`${what}: error notification: ${errors.join(' | ')}`);
    if (Date.now() > end) throw new Error(`${what}: timed out after ${timeout} ms waiting for a notification ${re}; visible: ${JSON.stringify(last)}`);
    await sleep(150);
  }
}


/** Make the terminal `name` the active one: click its entry in the terminal tab list, else
 * step through the terminals (Terminal: Focus Next Terminal). */
async function focusTerminal(vs, name, timeout = 15000) {
  const end = Date.now() + timeout;
  for (;;) {
    if ((await activeTerminalName(vs).catch(() => null)) === name) break;
    const entry = vs.page.locator('.terminal-tabs-entry', { hasText: name }).first();
    if (await entry.isVisible().catch(() => false)) {
      await entry.click().catch(() => {});
    } else {
      await vs.runCommand('workbench.action.terminal.focusNext').catch(() => {});
    }
    if (Date.now() > end) {
      throw new Error(`could not make "${name}" the active terminal; terminals: ${JSON.stringify(await terminalNames(vs).catch(() => []))}`);
    }
    await sleep(500);
  }
  // keyboard focus into its xterm (a click on the tab list leaves it in the list)
  await vs.page.locator('.terminal-wrapper.active .xterm').first().click();
  await vs.page.locator('.terminal-wrapper.active .xterm.focus').first().waitFor({ timeout: 5000 });
  await sleep(500);
}

/**
 * A second client of the session host: a raw JSON-RPC connection over its socket (what
 * Neovim or any LSP client does). `request(method, params)` resolves with the result;
 * `notifications` collects what the host sends.
 */
export async function rawHostClient(socketPath) {
  const sock = net.connect(socketPath);
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  let buf = Buffer.alloc(0);
  let nextId = 1;
  const pending = new Map();
  const notifications = [];
  const send = (msg) => {
    const body = Buffer.from(JSON.stringify({ jsonrpc: '2.0', ...msg }), 'utf8');
    sock.write(`Content-Length: ${body.length}\r\n\r\n`);
    sock.write(body);
  };
  sock.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      const sep = buf.indexOf('\r\n\r\n');
      if (sep < 0) return;
      const m = /Content-Length:\s*(\d+)/i.exec(buf.subarray(0, sep).toString('ascii'));
      const len = Number(m?.[1] ?? 0);
      if (buf.length < sep + 4 + len) return;
      const msg = JSON.parse(buf.subarray(sep + 4, sep + 4 + len).toString('utf8'));
      buf = buf.subarray(sep + 4 + len);
      if (msg.id !== undefined && pending.has(msg.id) && !msg.method) {
        const { resolve, reject } = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) reject(new Error(`${msg.error.code}: ${msg.error.message}`));
        else resolve(msg.result);
      } else if (msg.method && msg.id !== undefined) {
        send({ id: msg.id, result: msg.method === 'runbridge/input' ? { value: null } : null });
      } else if (msg.method) {
        notifications.push(msg);
      }
    }
  });
  const request = (method, params, timeout = 60000) => new Promise((resolve, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${method}: no answer in ${timeout} ms`)); }, timeout);
    pending.set(id, {
      resolve: (v) => { clearTimeout(timer); resolve(v); },
      reject: (e) => { clearTimeout(timer); reject(e); },
    });
    send({ id, method, params });
  });
  await request('initialize', { processId: process.pid, rootUri: null, capabilities: {}, initializationOptions: {} });
  send({ method: 'initialized', params: {} });
  return {
    request,
    notifications,
    /** stdout of a run, from its runbridge/output notifications */
    stdoutOf: (runId) => notifications
      .filter((n) => n.method === 'runbridge/output' && n.params.runId === runId)
      .sort((a, b) => a.params.seq - b.params.seq)
      .flatMap((n) => n.params.console).filter(([k]) => k === 'stdout').map(([, d]) => d).join(''),
    async close() {
      await request('shutdown', null, 10000).catch(() => {});
      send({ method: 'exit' });
      sock.end();
      sock.destroy();
    },
  };
}

// ------------------------------------------------------------------ steps

/**
 * Steps run in order. run(vs, ctx) with ctx = { lines, workspace, artifacts, log, shot(suffix),
 * note(text) }; run-e2e.mjs takes the screenshot NN-<name>.png after each step.
 */
export const steps = [
  {
    name: 'run-line',
    title: 'a. Shift+Enter on a line: output terminal shows the result (starts daemon + kernel)',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'hello');
      await waitForOutput(vs, 'hello from runbridge 42', 60000, 'first run');
      const name = await activeTerminalName(vs);
      if (name !== OUTPUT_TERMINAL) throw new Error(`output appeared in terminal ${JSON.stringify(name)}, expected "${OUTPUT_TERMINAL}"`);
    },
  },
  {
    name: 'input',
    title: 'b. input(): InputBox answered, value used by the next run',
    async run(vs, ctx) {
      await shiftEnterOn(vs, ctx, 'input');
      await vs.waitForQuickInput({ prompt: 'Your name:', timeout: 30000 });
      await ctx.shot('prompt');
      await vs.typeInQuickInput('Ada', { prompt: 'Your name:' });
      await waitForOutput(vs, 'Your name: Ada', 15000, 'prompt echo in the output terminal');
      await shiftEnterOn(vs, ctx, 'greet');
      await waitForOutput(vs, 'hi Ada', 30000, 'print after input');
    },
  },
  {
    name: 'image',
    title: 'c. run a selection that displays a PNG: media panel shows the image',
    async run(vs, ctx) {
      const { imageFirst, imageLast } = ctx.lines;
      await vs.selectRange(imageFirst.line, 1, imageLast.line, imageLast.length + 1);
      await vs.focusEditor();
      await vs.press('Shift+Enter');
      ctx.log(`Shift+Enter on the selection ${DEMO_FILE}:${imageFirst.line}-${imageLast.line}`);
      await vs.waitForText('image/png', { where: 'frames', timeout: 60000 });
      await vs.waitForText(MEDIA_PANEL, { where: 'page', timeout: 10000 });
      const img = vs.page.frameLocator('iframe.webview').frameLocator('#active-frame').locator('img[alt="image/png output"]').first();
      const end = Date.now() + 20000;
      let info = null;
      for (;;) {
        info = await img.evaluate((el) => ({ complete: el.complete, w: el.naturalWidth, h: el.naturalHeight, src: el.src.slice(0, 40) }), null, { timeout: 2000 })
          .catch((e) => ({ error: e.message.split('\n')[0] }));
        if (info.w > 0) break;
        if (Date.now() > end) throw new Error(`<img alt="image/png output"> did not load in the media panel: ${JSON.stringify(info)}`);
        await sleep(250);
      }
      ctx.note(`image loaded: ${info.w}x${info.h} (${info.src}…)`);
      if (info.w !== 16 || info.h !== 16) throw new Error(`image has natural size ${info.w}x${info.h}, expected 16x16`);
    },
  },
  {
    name: 'display-update',
    title: 'c2. a display with an id, updated by a later run: its one media card is redrawn',
    async run(vs, ctx) {
      const svgs = () => vs.page.frameLocator('iframe.webview').frameLocator('#active-frame')
        .locator('img[alt="image/svg+xml output"]')
        .evaluateAll((els) => els.map((el) => atob(el.src.split(',')[1] || '')), null)
        .catch(() => []);
      const waitForSvgs = async (want, what) => {
        const end = Date.now() + 30000;
        let got = [];
        for (;;) {
          got = await svgs();
          if (got.length === want.length && want.every((fill, i) => got[i].includes(fill))) return;
          if (Date.now() > end) throw new Error(`${what}: media panel SVGs ${JSON.stringify(got)}, expected fills ${JSON.stringify(want)}`);
          await sleep(250);
        }
      };
      await shiftEnterOn(vs, ctx, 'svgShow');
      await waitForSvgs(['#0000ff'], 'the display');
      await shiftEnterOn(vs, ctx, 'svgUpdate');
      await waitForSvgs(['#00ff00'], 'the update from the next run');
      ctx.note('one SVG card, redrawn with the update');
    },
  },
  {
    name: 'remote-terminal',
    title: 'd. Runbridge: Open Remote Terminal, run a shell command in it',
    async run(vs, ctx) {
      await vs.runCommand('Runbridge: Open Remote Terminal');
      await waitForActiveTerminal(vs, REMOTE_TERMINAL, 30000);
      await vs.typeInTerminal('echo rb-$((6*7))');
      await waitForOutput(vs, 'rb-42', 30000, 'remote shell echo');
    },
  },
  {
    name: 'interrupt',
    title: 'e. interrupt a long run, then the session still runs code',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'sleep');
      await sleep(1000);
      const shown = await activeTerminalName(vs);
      if (shown !== OUTPUT_TERMINAL) {
        ctx.note(`after Shift+Enter on the sleep line the active terminal was ${JSON.stringify(shown)}, not "${OUTPUT_TERMINAL}"`);
        await vs.runCommand('Runbridge: Show Output');
        await waitForActiveTerminal(vs, OUTPUT_TERMINAL, 10000);
      }
      // the kernel runs the line (an interrupt that came before it would be lost)
      await waitForOutput(vs, 'asleep now', 30000, 'the long run printing before its sleep');
      await ctx.shot('running');
      const t = Date.now();
      await vs.runCommand('Runbridge: Interrupt');
      // the run reveals the output terminal; make sure it is the one shown (a user would do the same)
      await vs.runCommand('Runbridge: Show Output');
      await waitForActiveTerminal(vs, OUTPUT_TERMINAL, 10000);
      await waitForOutput(vs, 'KeyboardInterrupt', 15000, 'interrupt');
      ctx.note(`KeyboardInterrupt shown ${Date.now() - t} ms after the Interrupt command`);
      await ctx.shot('interrupted');
      await vs.focusEditor();
      await shiftEnterOn(vs, ctx, 'after');
      // anchored on a whole row: the code itself (if echoed) also contains "after interrupt"
      await waitForOutput(vs, /^after interrupt\s*$/m, 30000, 'run after the interrupt');
    },
  },
  {
    name: 'diagnostic',
    title: 'f1. an error in user code: traceback in the output terminal, diagnostic on the line, Problems panel',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      const before = await problemsCount(vs);
      ctx.note(`Problems status bar before: ${before?.label}`);
      await shiftEnterOn(vs, ctx, 'zeroDiv');
      await waitForOutput(vs, 'ZeroDivisionError', 60000, 'traceback of 10 / 0');
      const end = Date.now() + 30000;
      let now = null;
      for (;;) {
        now = await problemsCount(vs);
        if (now && now.errors >= 1) break;
        if (Date.now() > end) throw new Error(`the Problems status bar item shows no error after the ZeroDivisionError: ${JSON.stringify(now)}`);
        await sleep(200);
      }
      ctx.note(`Problems status bar after: ${now.label}`);
      await ctx.shot('terminal');
      await vs.runCommand('workbench.actions.view.problems');
      const panel = vs.page.locator('.markers-panel');
      await panel.first().waitFor({ state: 'visible', timeout: 15000 }).catch(() => {
        throw new Error('the Problems panel (.markers-panel) did not become visible');
      });
      const end2 = Date.now() + 15000;
      let text = '';
      for (;;) {
        text = (await panel.first().innerText().catch(() => '')).replace(/[\s\u00a0]+/g, ' ');
        if (text.includes('ZeroDivisionError') && text.includes(DEMO_FILE)) break;
        if (Date.now() > end2) throw new Error(`Problems panel does not show ZeroDivisionError in ${DEMO_FILE}; it shows: ${text || '(nothing)'}`);
        await sleep(200);
      }
      const line = ctx.lines.zeroDiv.line;
      ctx.note(`Problems panel: ${text.slice(0, 160)}`);
      if (!new RegExp(`\\[(Ln )?${line}(, Col |,\\s*)\\d+\\]`).test(text)) {
        ctx.note(`Problems panel row does not name line ${line} as "[Ln ${line}, Col N]"`);
      }
      await ctx.shot('problems');
    },
  },
  {
    name: 'password',
    title: 'f2. getpass(): masked InputBox, secret not echoed; Escape interrupts the run; the session still runs',
    async run(vs, ctx) {
      await clearOutput(vs);
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'password');
      await vs.waitForQuickInput({ prompt: 'Token:', timeout: 30000 });
      const input = vs.page.locator('.quick-input-widget .quick-input-box input').first();
      const type = await input.getAttribute('type', { timeout: 5000 });
      if (type !== 'password') throw new Error(`the quick input's <input> has type=${JSON.stringify(type)}, expected "password"`);
      ctx.note(`quick input <input type="${type}">`);
      await vs.type(SECRET);
      await ctx.shot('masked');
      await vs.press('Enter');
      await waitForOutput(vs, /finished in/, 30000, 'the getpass run after Enter');
      await shiftEnterOn(vs, ctx, 'tokenLength');
      await waitForOutput(vs, new RegExp(`^token length ${SECRET.length}\\s*$`, 'm'), 30000, 'the length of the token the kernel got');
      const shown = await vs.readTerminal();
      if (shown.includes(SECRET)) throw new Error(`the secret is shown in the output terminal:\n${shown}`);
      await ctx.shot('answered');
      // nor do the daemon's logs, transcripts or state files under the temp runbridge home
      const leaks = [];
      const walk = (dir) => {
        for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
          const f = path.join(dir, ent.name);
          if (ent.isDirectory()) walk(f);
          else if (ent.isFile() && fs.statSync(f).size < 20e6 && fs.readFileSync(f).includes(SECRET)) leaks.push(f);
        }
      };
      if (ctx.rbHome && fs.existsSync(ctx.rbHome)) walk(ctx.rbHome);
      if (leaks.length) throw new Error(`the secret typed in the password box is stored in: ${leaks.join(', ')}`);

      // second run: Escape in the InputBox interrupts the run
      await clearOutput(vs);
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'password');
      await vs.waitForQuickInput({ prompt: 'Token:', timeout: 30000 });
      const t = Date.now();
      await vs.press('Escape');
      await waitForOutput(vs, /interrupted|KeyboardInterrupt/, 30000, 'the run after Escape in the InputBox');
      ctx.note(`run interrupted ${Date.now() - t} ms after Escape`);
      const rows = await vs.readTerminal();
      ctx.note(`footer: ${rows.split('\n').filter((r) => /interrupted|KeyboardInterrupt/.test(r)).map((r) => r.trim()).join(' / ')}`);
      await ctx.shot('escaped');
      await vs.focusEditor();
      await shiftEnterOn(vs, ctx, 'afterPassword');
      await waitForOutput(vs, /^after password escape\s*$/m, 30000, 'run after the cancelled getpass');
    },
  },
  {
    name: 'cell-lens',
    title: 'f3. click the code lens "Run Cell" above a # %% marker: the cell runs',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      const { cellMarker } = ctx.lines;
      await vs.goTo(ctx.lines.cellEnd.line, 1);
      await vs.goTo(cellMarker.line, 1);
      // the lens sits in a view zone just above the marker line: take the "Run Cell" lens whose
      // bottom is closest above the top of the marker line
      const end = Date.now() + 30000;
      let found = null;
      for (;;) {
        found = await vs.page.evaluate((markerText) => {
          const editor = document.querySelector('.editor-group-container.active .monaco-editor');
          if (!editor) return { error: 'no active editor' };
          const lineEl = [...editor.querySelectorAll('.view-line')].find((l) => l.innerText.replace(/\u00a0/g, ' ').trim() === markerText);
          const lenses = [...editor.querySelectorAll('.codelens-decoration a')]
            .map((a, i) => ({ i, text: a.innerText.replace(/\s+/g, ' ').trim(), r: a.getBoundingClientRect() }))
            .filter((l) => /Run Cell/.test(l.text));
          if (!lineEl) return { error: 'marker line not rendered', lenses: lenses.map((l) => l.text) };
          const top = lineEl.getBoundingClientRect().top;
          const above = lenses.filter((l) => l.r.bottom <= top + 2).sort((a, b) => b.r.bottom - a.r.bottom);
          if (!above.length) return { error: `no "Run Cell" lens above the marker (lenses: ${JSON.stringify(lenses.map((l) => [l.text, Math.round(l.r.top)]))}, line top ${Math.round(top)})` };
          const l = above[0];
          return { x: l.r.left + l.r.width / 2, y: l.r.top + l.r.height / 2, text: l.text, gap: top - l.r.bottom };
        }, cellMarker.text);
        if (!found.error && found.gap < 30) break;
        if (Date.now() > end) throw new Error(`code lens: ${found.error || `nearest lens ${found.gap}px above the marker`}`);
        await sleep(250);
      }
      ctx.note(`code lens "${found.text}" clicked at (${Math.round(found.x)}, ${Math.round(found.y)})`);
      await ctx.shot('lens');
      await vs.page.mouse.click(found.x, found.y);
      await waitForOutput(vs, /^cell says 42\s*$/m, 60000, 'the cell run from the code lens');
    },
  },
  {
    name: 'language',
    title: 'f4. language features from the live session: the Variables view lists a variable a run set, the suggest widget offers it, the hover shows a docstring',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'kernelOnly');
      await shiftEnterOn(vs, ctx, 'documented');
      // the Variables view (in the explorer), refreshed when the runs end
      await vs.runCommand('runbridge.variables.focus');
      // room for every variable of the session: collapse the Explorer's folder section (a
      // click on its header), so the view below takes the height (its rows are virtual:
      // only those in view exist)
      const folders = vs.page.locator('.pane:has(.explorer-folders-view) > .pane-header[aria-expanded="true"]').first();
      if (await folders.isVisible().catch(() => false)) await folders.click();
      const viewText = () => vs.page.evaluate(() => {
        const pane = [...document.querySelectorAll('.pane')]
          .find((p) => /runbridge: variables/i.test(p.querySelector('.pane-header')?.innerText || ''));
        return pane ? pane.querySelector('.pane-body')?.innerText.replace(/[\s\u00a0]+/g, ' ').trim() ?? '' : null;
      });
      let shown = null;
      for (const end = Date.now() + 30000; ;) {
        shown = await viewText().catch(() => null);
        if (shown && /kernel_only_name_42\s*int\s*=\s*1/.test(shown)) break;
        if (Date.now() > end) throw new Error(`the Variables view does not list kernel_only_name_42 (int = 1); it shows: ${JSON.stringify(shown)}`);
        await sleep(250);
      }
      // a function is code, not data: the view leaves rb_documented out
      if (/rb_documented/.test(shown)) throw new Error(`the Variables view lists the function rb_documented: ${JSON.stringify(shown)}`);
      ctx.note(`Variables view: ${shown.slice(0, 160)}`);
      await ctx.shot('variables');
      // completion: the cursor at the end of `kernel_only_n`, Ctrl+Space (the document is not
      // edited: word-based suggestions are off, so only a language server can offer the name)
      const { completeMe, documented } = ctx.lines;
      await vs.openFile(DEMO_FILE);
      await vs.goTo(completeMe.line, completeMe.length + 1);
      await vs.focusEditor();
      const widget = vs.page.locator('.editor-widget.suggest-widget.visible');
      let offered = '';
      try {
        for (let end = Date.now() + 20000, next = 0; ;) {
          if (Date.now() >= next) {
            // close what the last try showed ("No suggestions." while the kernel's completer
            // warms up: its first answer may miss the daemon's budget), then ask again
            // (Ctrl+Space in an open widget only toggles its details)
            if (next) await vs.press('Escape');
            await vs.press('Control+Space');
            next = Date.now() + 3000;
          }
          offered = (await widget.first().innerText({ timeout: 500 }).catch(() => '')).replace(/\s+/g, ' ');
          if (/kernel_only_name_42/.test(offered)) break;
          if (Date.now() > end) throw new Error(`the suggest widget does not offer kernel_only_name_42; it shows: ${JSON.stringify(offered)}`);
          await sleep(250);
        }
        ctx.note(`suggest widget: ${offered.slice(0, 120)}`);
        await ctx.shot('completion');
      } finally {
        await vs.press('Escape');
      }
      if (await activeTabDirty(vs)) throw new Error('the completion step changed demo.py');
      // hover on the function's name (a hover asks the kernel's inspect_request)
      await vs.goTo(documented.line, documented.text.indexOf('rb_documented') + 3);
      await vs.focusEditor();
      const hover = vs.page.locator('.monaco-hover:not(.hidden)');
      let hovered = '';
      for (let end = Date.now() + 20000, next = 0; ;) {
        if (Date.now() >= next) {
          await vs.runCommand('editor.action.showHover');
          next = Date.now() + 3000;
        }
        hovered = (await hover.first().innerText({ timeout: 500 }).catch(() => '')).replace(/\s+/g, ' ');
        if (/rb docstring for the hover/.test(hovered)) break;
        if (Date.now() > end) throw new Error(`the hover does not show the docstring; it shows: ${JSON.stringify(hovered)}`);
        await sleep(250);
      }
      ctx.note(`hover: ${hovered.slice(0, 120)}`);
      await ctx.shot('hover');
      await vs.press('Escape');
    },
  },
  {
    name: 'upload',
    title: 'f5. Runbridge: Upload Files (simple file dialog), destination ".", then the kernel reads the file',
    async run(vs, ctx) {
      await vs.openFile(DEMO_FILE);
      await vs.runCommand('Runbridge: Upload Files');
      // code-server: showOpenDialog is VS Code's simple file dialog, a quick input taking a path
      await vs.waitForQuickInput({ timeout: 15000 });
      await sleep(500);
      await ctx.shot('dialog');
      const target = path.join(ctx.workspace, UPLOAD_FILE);
      const box = vs.page.locator('.quick-input-widget .quick-input-box input').first();
      await box.fill(target);
      await sleep(500);
      await vs.press('Enter');
      await vs.waitForQuickInput({ prompt: 'Folder in the session work folder', timeout: 15000 }).catch(async (e) => {
        throw new Error(`after typing ${target} in the open dialog, no destination InputBox: ${e.message.split('\n')[0]}; quick input rows: ${JSON.stringify(await vs.quickInputItems().catch(() => []))}`);
      });
      const value = await box.inputValue().catch(() => null);
      if (value !== '.') ctx.note(`destination InputBox value ${JSON.stringify(value)} (expected ".")`);
      await ctx.shot('destination');
      await vs.press('Enter');
      const toast = await waitForNotification(vs, new RegExp(`uploaded .*${UPLOAD_FILE.replace('.', '\\.')}`), 30000, 'upload');
      ctx.note(`notification: ${typeof toast === 'string' ? toast : JSON.stringify(toast)}`);
      await ctx.shot('uploaded');
      await vs.openFile(DEMO_FILE);
      await shiftEnterOn(vs, ctx, 'readUpload');
      await waitForOutput(vs, /^rb-upload-apple,17\s*$/m, 30000, 'the uploaded file read by the kernel');
    },
  },
  {
    name: 'reload',
    title: 'g. reload the window: earlier output replayed, the remote terminal reopened, media back, variables kept',
    async run(vs, ctx) {
      await vs.runCommand('Developer: Reload Window');
      // the workbench comes back: the status bar item of the extension shows the session again
      await vs.page.waitForSelector('.part.statusbar', { timeout: 60000 });
      await vs.waitForText(STATUS_TEXT, { where: 'page', timeout: 60000 });
      await sleep(1000);
      // before any new run: the output terminal holds the last runs, replayed from the host
      await showOutput(vs);
      await waitForOutput(vs, /^rb-upload-apple,17\s*$/m, 30000, 'the output of the last run before the reload, replayed');
      await waitForOutput(vs, /── live ──/, 10000, 'the end of the replay');
      await ctx.shot('replayed');
      // the remote terminal of step 05 is open again, with its earlier output, and live
      await focusTerminal(vs, REMOTE_TERMINAL, 30000);
      await waitForOutput(vs, 'rb-42', 30000, 'the remote terminal\'s earlier output, replayed');
      await vs.typeInTerminal('echo back-$((6*7))');
      await waitForOutput(vs, 'back-42', 30000, 'the reopened remote terminal runs commands in the same shell');
      await ctx.shot('terminal');
      // media of the replayed runs are in the media panel again
      await vs.runCommand('Runbridge: Show Media Panel');
      await vs.waitForText('image/png', { where: 'frames', timeout: 30000 });
      await ctx.shot('media');
      await vs.openFile(DEMO_FILE);
      // `name` was set by the input() run before the reload
      await shiftEnterOn(vs, ctx, 'greet');
      await waitForOutput(vs, /^hi Ada\s*$/m, 60000, 'run after the reload');
      const name = await activeTerminalName(vs);
      if (name !== OUTPUT_TERMINAL) throw new Error(`output appeared in terminal ${JSON.stringify(name)}, expected "${OUTPUT_TERMINAL}"`);
    },
  },
  {
    name: 'other-client',
    title: 'h. closing the remote terminal tab ends its shell; other clients of the session host (raw JSON-RPC on its socket, and `runbridge run -s e2e`) see the variable set from VS Code; VS Code shows their runs',
    async run(vs, ctx) {
      if (!ctx.hostSocket) throw new Error('no session host socket (runbridge.daemon.keepSessions off?)');
      const client = await rawHostClient(ctx.hostSocket);
      try {
        // closing the reopened remote terminal's tab ends its shell on the host
        const before = (await client.request('runbridge/listTerminals', {})).terminals;
        if (before.length !== 1) throw new Error(`the host should run the one remote terminal of step 05: ${JSON.stringify(before)}`);
        await focusTerminal(vs, REMOTE_TERMINAL, 15000);
        await vs.runCommand('workbench.action.terminal.kill');
        const end = Date.now() + 15000;
        for (;;) {
          const left = (await client.request('runbridge/listTerminals', {})).terminals;
          if (left.length === 0) break;
          if (Date.now() > end) throw new Error(`closing the remote terminal tab did not end its shell: ${JSON.stringify(left)}`);
          await sleep(200);
        }
        ctx.note('the remote terminal tab closed: its shell ended on the host');
        const sessions = await client.request('runbridge/listSessions', {});
        if (!sessions.sessions.some((s) => s.name === SESSION)) throw new Error(`the host does not list ${SESSION}: ${JSON.stringify(sessions)}`);
        const result = await client.request('runbridge/run', { session: SESSION, code: 'print("seen", name)' });
        const text = client.stdoutOf(result.runId);
        ctx.note(`the other client's run: ${result.status}, stdout ${JSON.stringify(text)}`);
        if (text !== 'seen Ada\n') throw new Error(`the other client printed ${JSON.stringify(text)}, expected "seen Ada"`);
      } finally {
        await client.close();
      }
      // the runbridge command in a shell: the same kernel, through the same host
      const cli = await runCommand(ctx.daemon, ['run', '-s', SESSION, '-c', 'print("cli sees", name)'], {
        ...process.env, ...ctx.daemonEnv, RUNBRIDGE_STANDALONE: '',
      });
      ctx.note(`runbridge run -s ${SESSION}: exit ${cli.code}, stdout ${JSON.stringify(cli.stdout)}`);
      if (cli.code !== 0 || cli.stdout !== 'cli sees Ada\n') {
        throw new Error(`runbridge run -s ${SESSION} printed ${JSON.stringify(cli.stdout)} (exit ${cli.code}; stderr ${JSON.stringify(cli.stderr)}), expected "cli sees Ada"`);
      }
      // the window follows the session: the other clients' runs show in its output terminal
      await showOutput(vs);
      await waitForOutput(vs, /^seen Ada\s*$/m, 30000, 'the other client\'s run in the VS Code output terminal');
      await waitForOutput(vs, /^cli sees Ada\s*$/m, 30000, 'the CLI\'s run in the VS Code output terminal');
    },
  },
  {
    name: 'two-windows',
    title: 'i. a second VS Code window (another folder) at the same time: same kernel, both keep working and see each other\'s runs; a VS Code started after it quit shows the last runs',
    async run(vs, ctx) {
      await clearOutput(vs);
      const vs2 = await ctx.openAnotherWindow();
      try {
        await vs2.openFile(DEMO_FILE);
        await shiftEnterOn(vs2, ctx, 'greet');
        await waitForOutput(vs2, /^hi Ada\s*$/m, 60000, 'the second window runs in the same kernel (name set in the first)');
        await vs2.screenshot(path.join(ctx.artifacts, 'two-windows-second.png'));
        // the first window follows the session: the second window's run shows there too
        await waitForOutput(vs, /^hi Ada\s*$/m, 30000, 'the second window\'s run in the first window');
        // and the first window still runs code (no takeover)
        await vs.openFile(DEMO_FILE);
        await shiftEnterOn(vs, ctx, 'hello');
        await waitForOutput(vs, 'hello from runbridge 42', 30000, 'a run in the first window while the second is open');
        await waitForOutput(vs2, 'hello from runbridge 42', 30000, 'the first window\'s run in the second window');
      } finally {
        await vs2.stop().catch((e) => ctx.log(`second window stop: ${e.message}`));
      }
      // VS Code quits (the second instance is gone) and starts again: the new window shows
      // the session's last runs, from the host, before anything runs
      const vs3 = await ctx.openAnotherWindow();
      try {
        await showOutput(vs3);
        await waitForOutput(vs3, /^hello from runbridge 42\s*$/m, 30000, 'a new VS Code instance replays the session\'s last runs');
        await waitForOutput(vs3, /── live ──/, 10000, 'the end of the replay in the new instance');
        await vs3.screenshot(path.join(ctx.artifacts, 'two-windows-reopened.png'));
      } finally {
        await vs3.stop().catch((e) => ctx.log(`third window stop: ${e.message}`));
      }
    },
  },
  {
    name: 'status-bar',
    title: 'f. status bar shows the session',
    async run(vs, ctx) {
      const bar = vs.page.locator('.part.statusbar');
      const end = Date.now() + 15000;
      let text = '';
      for (;;) {
        text = (await bar.innerText().catch(() => '')).replace(/[\s\u00a0]+/g, ' ');
        if (text.includes(STATUS_TEXT)) break;
        if (Date.now() > end) throw new Error(`status bar does not show "${STATUS_TEXT}"; it shows: ${text}`);
        await sleep(200);
      }
      const item = await vs.page.evaluate((want) => [...document.querySelectorAll('.part.statusbar .statusbar-item')]
        .filter((e) => e.innerText.replace(/[\s\u00a0]+/g, ' ').includes(want))
        .map((e) => `${e.innerText.trim()} [${e.getAttribute('aria-label') || ''}]`).join(' | '), STATUS_TEXT)
        .then((t) => t.replace(/\s+/g, ' '));
      ctx.note(`status bar item: ${item}`);
      // the item stays visible when the daemon died; then its tooltip says so
      if (/not running|stopped|did not start/i.test(item)) throw new Error(`the status bar item reports a dead daemon: ${item}`);
    },
  },
  {
    name: 'stop-daemon',
    title: 'j. Runbridge: Stop Daemon asks first, saying the host is every window\'s; then the host is gone',
    async run(vs, ctx) {
      if (!ctx.hostSocket) throw new Error('no session host socket (runbridge.daemon.keepSessions off?)');
      if (!fs.existsSync(ctx.hostSocket)) throw new Error(`no session host on ${ctx.hostSocket} before Stop Daemon`);
      await vs.runCommand('Runbridge: Stop Daemon');
      const dialog = vs.page.locator('.monaco-dialog-box');
      await dialog.first().waitFor({ state: 'visible', timeout: 15000 });
      const text = (await dialog.first().innerText()).replace(/\s+/g, ' ');
      ctx.note(`confirmation: ${text.slice(0, 220)}`);
      if (!/every VS Code window/.test(text)) throw new Error(`the confirmation does not say the host is every window's: ${text}`);
      await ctx.shot('confirm');
      await dialog.locator('.monaco-button', { hasText: 'Stop Daemon' }).first().click();
      const end = Date.now() + 20000;
      while (fs.existsSync(ctx.hostSocket)) {
        if (Date.now() > end) throw new Error(`the session host still listens on ${ctx.hostSocket} 20 s after Stop Daemon`);
        await sleep(200);
      }
      await vs.waitForText(/runbridge: e2e/, { where: 'page', timeout: 10000 });
    },
  },
];


/** Run a command to its end: its exit code, stdout and stderr. */
function runCommand(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
