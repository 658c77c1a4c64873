// The user path of the runbridge VS Code extension, step by step, in a real VS Code
// (driven by shared/tools/vscode-e2e; run through run-e2e.mjs, which builds the vsix,
// prepares the workspace and settings, times the steps and collects the artifacts).
//
// Each step does what a user would do, then waits (<= 60 s) for the visible result.
// Line numbers are never hard-coded: they are looked up in workspace/demo.py by text.

import fs from 'node:fs';
import path from 'node:path';

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
  sleep: 'import time; time.sleep(120)',
  after: 'print("after interrupt")',
};

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
      await sleep(2000);
      const shown = await activeTerminalName(vs);
      if (shown !== OUTPUT_TERMINAL) {
        ctx.note(`after Shift+Enter on the sleep line the active terminal was ${JSON.stringify(shown)}, not "${OUTPUT_TERMINAL}"`);
      }
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
    name: 'reload',
    title: 'g. reload the window: the session and its variables are still there',
    async run(vs, ctx) {
      await vs.runCommand('Developer: Reload Window');
      // the workbench comes back: the status bar item of the extension shows the session again
      await vs.page.waitForSelector('.part.statusbar', { timeout: 60000 });
      await vs.waitForText(STATUS_TEXT, { where: 'page', timeout: 60000 });
      await sleep(1000);
      await vs.openFile(DEMO_FILE);
      // `name` was set by the input() run before the reload
      await shiftEnterOn(vs, ctx, 'greet');
      await waitForOutput(vs, /^hi Ada\s*$/m, 60000, 'run after the reload');
      const name = await activeTerminalName(vs);
      if (name !== OUTPUT_TERMINAL) throw new Error(`output appeared in terminal ${JSON.stringify(name)}, expected "${OUTPUT_TERMINAL}"`);
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
];
