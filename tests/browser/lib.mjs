// The browser test harness: the real control plane binary on a free port with a
// fresh data directory, headless Chromium through playwright-core, the mail
// files the server writes, small valid upload files, and the checks run on
// every page a flow stops at (screenshot, axe-core, horizontal overflow).

import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const AXE_PATH = require.resolve('axe-core');

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const ARTIFACTS = join(REPO_ROOT, 'tests/artifacts/browser');
const BINARY =
  process.env.ORDO_BIN ??
  resolve(REPO_ROOT, process.env.CARGO_TARGET_DIR ?? 'target', 'debug/control-plane');

export const VIEWPORTS = [
  {
    name: 'phone',
    options: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  },
  { name: 'desktop', options: { viewport: { width: 1280, height: 800 } } },
];

const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

// Only these impacts fail a test; lesser findings are listed but do not fail.
const FAILING_IMPACTS = new Set(['serious', 'critical']);

const execFileAsync = promisify(execFile);

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function freePort() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/** One control plane and one browser for a test file. */
export class Harness {
  constructor(flow) {
    this.flow = flow;
  }

  async start() {
    await mkdir(ARTIFACTS, { recursive: true });
    this.dataDir = await mkdtemp(join(tmpdir(), `ordo-browser-${this.flow}-`));
    this.port = await freePort();
    this.publicUrl = `http://localhost:${this.port}`;
    this.mailbox = new Mailbox(join(this.dataDir, 'mail'));
    this.files = await writeFixtures(join(this.dataDir, 'test-files'));
    this.logPath = join(ARTIFACTS, `${this.flow}-server.log`);
    const log = createWriteStream(this.logPath);
    this.adminUrl = `http://admin.localhost:${this.port}`;
    this.env = {
      // Only the settings below: an ORDO_DATABASE_URL or ORDO_SMTP_URL from the
      // caller's shell must not send the tests to a real database or mail server.
      ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('ORDO_'))),
      ORDO_LISTEN: `127.0.0.1:${this.port}`,
      ORDO_DATA_DIR: this.dataDir,
      ORDO_LOG_MAIL_LINKS: 'false',
      RUST_LOG: 'warn',
    };
    this.server = spawn(BINARY, ['serve'], {
      cwd: this.dataDir,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Never leave a server behind, even when the test process ends abruptly.
    process.once('exit', () => this.server.kill('SIGKILL'));
    this.server.stdout.pipe(log);
    this.server.stderr.pipe(log);
    this.exited = new Promise((done) => {
      this.server.once('exit', (code, signal) => done(code ?? signal));
      this.server.once('error', (error) => done(error.message));
    });
    await this.waitForHealth();
    this.browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: LAUNCH_ARGS });
  }

  async waitForHealth() {
    let exitCode;
    this.exited.then((code) => {
      exitCode = code;
    });
    for (let i = 0; i < 200; i++) {
      if (exitCode !== undefined) break;
      try {
        const response = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    const log = await readFile(this.logPath, 'utf8').catch(() => '');
    throw new Error(
      `control plane (${BINARY}) did not answer /healthz` +
        (exitCode !== undefined ? `; it exited (${exitCode})` : '') +
        `\n${log}`,
    );
  }

  /** An operator account (made once, reused after) and a fresh one-time login
   * link for the console, from `control-plane operator create` on the server's
   * data directory, as an operator makes one. */
  async operatorLoginLink(email) {
    const { stdout } = await execFileAsync(BINARY, ['operator', 'create', '--email', email], {
      cwd: this.dataDir,
      env: this.env,
      timeout: 30_000,
    });
    const link = stdout.match(/https?:\/\/\S+\/anmelden\/link\?token=\S+/);
    if (!link) throw new Error(`no login link in the output of \`operator create\`:\n${stdout}`);
    return link[0];
  }

  async stop() {
    await this.browser?.close();
    if (this.server && this.server.exitCode === null && this.server.signalCode === null) {
      this.server.kill('SIGTERM');
      const timer = setTimeout(() => this.server.kill('SIGKILL'), 10_000);
      await this.exited;
      clearTimeout(timer);
    }
    if (this.dataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  /** A flow's run on one viewport: its browser contexts, checks and findings. */
  run(t, viewport) {
    return new Run(this, t, viewport);
  }
}

/** One flow on one viewport. Problems found on pages are collected, so that a
 * single run reports every page's findings, and fail the test at the end. */
export class Run {
  constructor(harness, t, viewport) {
    this.harness = harness;
    this.t = t;
    this.viewport = viewport;
    this.name = `${harness.flow}-${viewport.name}`;
    this.counter = 0;
    this.problems = [];
    this.contexts = [];
    this.pages = new Map();
  }

  get mailbox() {
    return this.harness.mailbox;
  }

  get publicUrl() {
    return this.harness.publicUrl;
  }

  get files() {
    return this.harness.files;
  }

  get adminUrl() {
    return this.harness.adminUrl;
  }

  /** Turns the checks on for a page from here on, e.g. once a set-up that
   * another flow checks page by page is done. */
  check(page) {
    this.pages.get(page).checked = true;
  }

  /** A new person in their own browser context (own cookies). `checked: false`
   * is for set-up that another flow already checks page by page. */
  async person(label, { checked = true } = {}) {
    const context = await this.harness.browser.newContext({
      ...this.viewport.options,
      locale: 'de-DE',
      timezoneId: 'Europe/Berlin',
      acceptDownloads: true,
      // The pages send `script-src 'self'`, which blocks the inline script that
      // addScriptTag injects for axe-core. Test contexts only: the header itself
      // is still asserted on every checked page (see checkpoint).
      bypassCSP: true,
    });
    context.setDefaultTimeout(15_000);
    this.contexts.push(context);
    const page = await context.newPage();
    const meta = { label, checked, csp: undefined, failedResources: [] };
    page.on('response', (response) => {
      const request = response.request();
      if (request.frame() !== page.mainFrame()) return;
      if (request.resourceType() === 'document') {
        meta.csp = response.headers()['content-security-policy'];
      } else if (response.status() >= 400) {
        meta.failedResources.push(`${response.status()} ${request.url()}`);
      }
    });
    page.on('pageerror', (error) => meta.failedResources.push(`script error: ${error.message}`));
    this.pages.set(page, meta);
    return page;
  }

  /** The checks at a step of the flow: a full-page screenshot, axe-core, no
   * horizontal scrolling, the CSP header, and no failed resources. */
  async checkpoint(page, step) {
    const meta = this.pages.get(page);
    if (!meta?.checked) return;
    this.counter += 1;
    const shot = `${this.name}-${String(this.counter).padStart(2, '0')}-${step}`;
    const where = `${shot} (${new URL(page.url()).pathname})`;
    await page.waitForLoadState('load');
    await loadImages(page);
    await page.screenshot({ path: join(ARTIFACTS, `${shot}.png`), fullPage: true });

    const overflow = await page.evaluate(horizontalOverflow);
    if (overflow) {
      this.problem(
        where,
        `horizontal overflow: page is ${overflow.scrollWidth}px wide in a ${overflow.innerWidth}px viewport; ` +
          `elements past the right edge:\n${overflow.offenders.map((o) => `      ${o}`).join('\n')}`,
      );
    }

    // The title names the page in tabs, history and screen readers.
    const title = await page.title();
    if (!/\S/.test(title) || /[<>]/.test(title)) {
      this.problem(where, `bad page title: ${JSON.stringify(title.replace(/\s+/g, ' ').slice(0, 160))}`);
    }

    if (!meta.csp?.includes("script-src 'self'")) {
      this.problem(where, `missing or weakened Content-Security-Policy: ${meta.csp ?? '(none)'}`);
    }
    for (const failed of meta.failedResources.splice(0)) {
      this.problem(where, `failed resource: ${failed}`);
    }

    const violations = await axe(page);
    for (const v of violations) {
      const text =
        `axe ${v.impact} ${v.id}: ${v.help} (${v.helpUrl})\n` +
        v.nodes.map((n) => `      ${n.target}  ${n.html}\n        ${n.summary.replace(/\n/g, '\n        ')}`).join('\n');
      if (FAILING_IMPACTS.has(v.impact)) {
        this.problem(where, text);
      } else {
        this.t.diagnostic(`${where}: ${text}`);
      }
    }
  }

  problem(where, text) {
    this.problems.push(`[${where}] ${text}`);
  }

  async close() {
    for (const context of this.contexts) await context.close();
  }

  /** Fails the test with every problem the checkpoints collected. */
  assertClean() {
    if (this.problems.length > 0) {
      throw new Error(
        `${this.problems.length} problem(s) on the pages of ${this.name}:\n\n${this.problems.join('\n\n')}`,
      );
    }
  }

  /** Runs the flow; closes the contexts; fails on the flow's error or on the
   * problems the checkpoints found, reporting both when both happened. */
  async flow(body) {
    try {
      await body();
    } catch (error) {
      if (this.problems.length > 0) {
        error.message += `\n\nProblems found before this error:\n\n${this.problems.join('\n\n')}`;
      }
      throw error;
    } finally {
      await this.close();
    }
    this.assertClean();
  }
}

async function loadImages(page) {
  // Photos are lazy-loaded: bring each into view so the screenshot shows it.
  await page.evaluate(async () => {
    for (const img of document.images) {
      if (!img.complete) {
        img.scrollIntoView();
        await new Promise((done) => {
          img.addEventListener('load', done, { once: true });
          img.addEventListener('error', done, { once: true });
          setTimeout(done, 2000);
        });
      }
    }
    window.scrollTo(0, 0);
  });
}

// Runs in the page.
function horizontalOverflow() {
  // A mobile browser zooms out to fit content wider than the screen, and then
  // window.innerWidth grows with it; clientWidth stays the device width.
  const innerWidth = Math.min(window.innerWidth, document.documentElement.clientWidth);
  const scrollWidth = document.documentElement.scrollWidth;
  if (scrollWidth <= innerWidth) return null;
  // Content scrolled inside a container (a wide table in .table-wrap) is fine;
  // only what sticks out unclipped widens the page.
  // An absolutely positioned element escapes every container up to its
  // containing block (the nearest positioned ancestor).
  const clipped = (el) => {
    let free = ['absolute', 'fixed'].includes(getComputedStyle(el).position);
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (free) {
        if (style.position === 'static') continue;
        free = ['absolute', 'fixed'].includes(style.position);
      }
      if (style.overflowX !== 'visible') return true;
    }
    return false;
  };
  const sticksOut = (el) => el.getBoundingClientRect().right > innerWidth + 0.5 && !clipped(el);
  const describe = (el) => {
    const classes = el.classList.length ? `.${[...el.classList].join('.')}` : '';
    const id = el.id ? `#${el.id}` : '';
    const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40);
    return `<${el.tagName.toLowerCase()}${id}${classes}> right edge ${Math.round(el.getBoundingClientRect().right)}px "${text}"`;
  };
  // The innermost elements that stick out are the ones to fix.
  const offenders = [...document.body.querySelectorAll('*')]
    .filter((el) => sticksOut(el) && ![...el.children].some(sticksOut))
    .slice(0, 8)
    .map(describe);
  return { scrollWidth, innerWidth, offenders };
}

async function axe(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ path: AXE_PATH });
  }
  return page.evaluate(async () => {
    const results = await window.axe.run(document, { resultTypes: ['violations'] });
    return results.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      helpUrl: v.helpUrl,
      nodes: v.nodes.map((n) => ({
        target: n.target.join(' '),
        html: n.html,
        summary: n.failureSummary ?? '',
      })),
    }));
  });
}

/** The `.eml` files the control plane writes when no SMTP server is set. */
export class Mailbox {
  constructor(dir) {
    this.dir = dir;
  }

  async all() {
    const names = await readdir(this.dir).catch(() => []);
    const mails = [];
    for (const name of names.filter((n) => n.endsWith('.eml'))) {
      const path = join(this.dir, name);
      const [raw, info] = await Promise.all([readFile(path, 'latin1'), stat(path, { bigint: true })]);
      mails.push({ name, modified: info.mtimeNs, ...parseMail(raw) });
    }
    mails.sort((a, b) => (a.modified < b.modified ? -1 : a.modified > b.modified ? 1 : 0));
    return mails;
  }

  /** The names of the mails so far, to wait for a newer one. */
  async mark() {
    return new Set((await this.all()).map((m) => m.name));
  }

  /** The newest mail to `to` (not among `seen`), waiting up to 10 s for it. */
  async newestTo(to, seen = new Set()) {
    for (let i = 0; i < 100; i++) {
      const mail = (await this.all())
        .reverse()
        .find((m) => !seen.has(m.name) && m.to.toLowerCase().includes(to.toLowerCase()));
      if (mail) return mail;
      await sleep(100);
    }
    throw new Error(`no new mail to ${to} in ${this.dir}`);
  }
}

/** The set-password link in a mail. */
export function passwordLink(mail) {
  const link = mail.body.match(/https?:\/\/\S+\/passwort-setzen\?token=\S+/);
  if (!link) throw new Error(`no set-password link in the mail "${mail.subject}":\n${mail.body}`);
  return link[0];
}

/** The trusted person's personal link (`…/notfall/<token>`) in a mail. */
export function emergencyLink(mail) {
  const link = mail.body.match(/https?:\/\/\S+?\/notfall\/[^\s/]+/);
  if (!link || link[0].includes('/ordner/notfall')) {
    throw new Error(`no emergency-folder link in the mail "${mail.subject}":\n${mail.body}`);
  }
  return link[0];
}

function parseMail(raw) {
  const split = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') : raw.indexOf('\n\n');
  const head = raw.slice(0, split).replace(/\r?\n[ \t]+/g, ' ');
  const header = (name) => head.match(new RegExp(`^${name}:\\s*(.*)$`, 'mi'))?.[1] ?? '';
  let body = raw.slice(split).trim();
  if (/quoted-printable/i.test(header('Content-Transfer-Encoding'))) {
    body = decodeQuotedPrintable(body);
  }
  return { to: header('To'), subject: decodeWords(header('Subject')), body };
}

function decodeQuotedPrintable(text) {
  const joined = text.replace(/=\r?\n/g, '');
  const bytes = Buffer.from(joined.replace(/=([0-9A-F]{2})/gi, (_, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  return bytes.toString('utf8');
}

function decodeWords(text) {
  return text
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([bq])\?([^?]*)\?=/gi, (_, kind, data) =>
      kind.toLowerCase() === 'b'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQuotedPrintable(data.replace(/_/g, ' ')),
    );
}

/** Small valid files to upload, written once per harness. */
export async function writeFixtures(dir) {
  await mkdir(dir, { recursive: true });
  const pdf = join(dir, 'Versicherungsschein.pdf');
  const photo = join(dir, 'Wasserschaden.png');
  // The customer's own document for the emergency folder, named apart from the
  // broker's so each list shows which one it holds.
  const powerOfAttorney = join(dir, 'Vorsorgevollmacht.pdf');
  await writeFile(pdf, minimalPdf('Versicherungsschein'));
  await writeFile(photo, gradientPng(96, 64));
  await writeFile(powerOfAttorney, minimalPdf('Vorsorgevollmacht'));
  // The broker's signed order contract, scanned.
  const signedContract = join(dir, 'Vertrag-unterschrieben.pdf');
  await writeFile(signedContract, minimalPdf('Vertrag, unterschrieben'));
  return { pdf, photo, powerOfAttorney, signedContract };
}

// A one-page PDF with correct cross-reference offsets, so any viewer opens it.
function minimalPdf(text) {
  const stream = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets = objects.map((body, i) => {
    const offset = out.length;
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
    return offset;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// A real RGB PNG (a colour gradient), so the portal shows it as a picture.
function gradientPng(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(1 + width * 3);
    for (let x = 0; x < width; x++) {
      row[1 + x * 3] = 40 + Math.round((180 * x) / width);
      row[2 + x * 3] = 90 + Math.round((120 * y) / height);
      row[3 + x * 3] = 160;
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function pngChunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(bytes) {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}
