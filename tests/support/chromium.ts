// Headless Chromium over the DevTools protocol on a pipe (fd 3 in, fd 4 out, NUL-separated JSON),
// for the HTML reports: no port to pick on a shared machine, and every console call, exception
// and log entry (failed loads, CSP violations) is seen, which --screenshot alone does not report.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';

/** Debian's Chromium; a test that needs it skips, saying how to install it, where it is absent. */
export const CHROMIUM = '/usr/bin/chromium';
export const NO_CHROMIUM = `${CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to render the report`;

export interface Shot<T> {
  problems: string[];
  title: string;
  /** What `evaluate` (an expression run in the page once it loaded) returned. */
  value: T;
}

/** Loads `file`, collects every problem, evaluates `evaluate` in the page, and screenshots it to `png`. */
export async function inChromium<T>(
  file: string,
  png: string,
  evaluate: string,
  opts: { fullPage?: string | undefined } = {},
): Promise<Shot<T>> {
  const profile = mkdtempSync(join(tmpdir(), 'ops-report-chromium-'));
  const child: ChildProcess = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--window-size=1280,1600',
      '--hide-scrollbars',
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const waiters: { method: string; resolve: () => void }[] = [];
  const problems: string[] = [];
  let buffer = '';
  let nextId = 1;
  output.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let end = buffer.indexOf('\0'); end >= 0; end = buffer.indexOf('\0')) {
      const message = JSON.parse(buffer.slice(0, end)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
      };
      buffer = buffer.slice(end + 1);
      if (message.id !== undefined) {
        const p = pending.get(message.id);
        pending.delete(message.id);
        if (message.error) p?.reject(new Error(message.error.message));
        else p?.resolve(message.result);
        continue;
      }
      const params = message.params ?? {};
      if (message.method === 'Runtime.consoleAPICalled') {
        const args = (params.args as { value?: unknown; description?: string }[]) ?? [];
        problems.push(`console.${params.type}: ${args.map((a) => a.value ?? a.description).join(' ')}`);
      } else if (message.method === 'Runtime.exceptionThrown') {
        const details = params.exceptionDetails as { text: string; exception?: { description?: string } };
        problems.push(`exception: ${details.exception?.description ?? details.text}`);
      } else if (message.method === 'Log.entryAdded') {
        const entry = params.entry as { level: string; text: string; url?: string };
        if (entry.level === 'error' || entry.level === 'warning')
          problems.push(`log ${entry.level}: ${entry.text}${entry.url ? ` (${entry.url})` : ''}`);
      }
      for (const w of waiters.filter((x) => x.method === message.method)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const send = <T = Record<string, unknown>>(method: string, params: object = {}, sessionId?: string) =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const event = (method: string) => new Promise<void>((resolve) => waiters.push({ method, resolve }));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  try {
    const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', {
      targetId,
      flatten: true,
    });
    const on = (method: string, params: object = {}) => send(method, params, sessionId);
    await on('Page.enable');
    await on('Runtime.enable');
    await on('Log.enable');
    await on('Emulation.setDeviceMetricsOverride', {
      width: 1280,
      height: 1600,
      deviceScaleFactor: 1,
      mobile: false,
    });
    const loaded = event('Page.loadEventFired');
    await on('Page.navigate', { url: pathToFileURL(file).href });
    await loaded;
    // Late messages (a failed load reported after the load event) have a moment to arrive.
    await new Promise((r) => setTimeout(r, 500));
    const evaluated = await on('Runtime.evaluate', {
      returnByValue: true,
      expression: `(() => ({ title: document.title, height: document.documentElement.scrollHeight, value: (${evaluate}) }))()`,
    });
    const page = (evaluated.result as { value: { title: string; height: number; value: T } }).value;
    const shot = await on('Page.captureScreenshot', { format: 'png' });
    writeFileSync(png, Buffer.from(shot.data as string, 'base64'));
    if (opts.fullPage) {
      const full = await on('Page.captureScreenshot', {
        format: 'png',
        captureBeyondViewport: true,
        clip: { x: 0, y: 0, width: 1280, height: page.height, scale: 1 },
      });
      writeFileSync(opts.fullPage, Buffer.from(full.data as string, 'base64'));
    }
    await send('Browser.close').catch(() => undefined);
    await exited;
    return { problems, title: page.title, value: page.value };
  } catch (error) {
    throw new Error(`chromium: ${(error as Error).message}\n${stderr.slice(-2000)}`);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
}
