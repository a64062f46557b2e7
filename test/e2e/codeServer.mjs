// Starts code-server (a real VS Code workbench and extension host) with Nearby installed from
// this checkout, and stops it with everything it spawned.
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const HOST = path.join(here, '.host');
export const PROJECT = path.resolve(here, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** `vsix`: install that package (as a user would) instead of linking this checkout. */
export async function startCodeServer({ workspace, dataDir, settings = {}, vsix }) {
  const pkg = JSON.parse(readFileSync(path.join(PROJECT, 'package.json'), 'utf8'));
  const userData = path.join(dataDir, 'user-data');
  const extensions = path.join(dataDir, 'extensions');
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  mkdirSync(extensions, { recursive: true });
  const base = JSON.parse(readFileSync(path.join(here, 'settings.json'), 'utf8'));
  writeFileSync(path.join(userData, 'User', 'settings.json'), JSON.stringify({ ...base, ...settings }, null, 2));
  const node24 = path.join(HOST, 'node24', 'node_modules', 'node', 'bin');
  const bin = path.join(HOST, 'server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  if (vsix) {
    execFileSync(path.join(node24, 'node'), [bin, '--user-data-dir', userData, '--extensions-dir', extensions, '--install-extension', vsix], { stdio: 'pipe' });
  } else {
    // The checkout itself is the installed extension: dist/, media/, models/ and node_modules/.
    symlinkSync(PROJECT, path.join(extensions, `${pkg.publisher}.${pkg.name}-${pkg.version}`), 'dir');
  }
  const port = await freePort();
  const child = spawn(path.join(node24, 'node'), [
    bin, '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--user-data-dir', userData, '--extensions-dir', extensions,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override', workspace,
  ], { env: { ...hostEnv(), PATH: `${node24}:${process.env.PATH}` }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}):\n${output}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`code-server did not start in 60 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url: `${url}/?folder=${encodeURIComponent(workspace)}`,
    userData,
    /** The process group of code-server and everything it forks (extension host, watchers). */
    pid: child.pid,
    output: () => output,
    /** Ends code-server and everything it forked (its process group): asked first, killed after `graceMs`. */
    stop: async (graceMs = 5_000) => {
      const signal = (sig) => {
        try {
          process.kill(-child.pid, sig);
          return true;
        } catch {
          return false; // already gone
        }
      };
      if (!signal('SIGTERM')) return;
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline) {
        if (!signal(0)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      signal('SIGKILL');
    },
  };
}

/** The environment for the host: without NEARBY_* variables this shell may carry (a model folder, a cache) that the tests do not mean. */
function hostEnv() {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('NEARBY_')));
}

/**
 * Every `.log` file under the user data folder. That folder also holds the index, whose files a
 * rebuild removes while we walk: what vanishes is skipped.
 */
export function* logFiles(userData) {
  const stack = [userData];
  while (stack.length > 0) {
    const p = stack.pop();
    const stat = statSync(p, { throwIfNoEntry: false });
    if (stat?.isDirectory()) {
      try {
        stack.push(...readdirSync(p).map((n) => path.join(p, n)));
      } catch {
        // removed since the stat
      }
    } else if (stat && p.endsWith('.log')) yield p;
  }
}

/** The last lines of the extension host's logs and Nearby's own output channel: what a failed test prints. */
export function logTail(userData, lines = 40) {
  const out = [];
  for (const p of logFiles(userData)) {
    if (/exthost|Nearby/i.test(p)) out.push(`--- ${path.relative(userData, p)}\n${readFileSync(p, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`);
  }
  return out.join('\n') || '(no extension host log)';
}

export function copyWorkspace(from, to) {
  cpSync(from, to, { recursive: true });
  return to;
}

/** A copy-pasted function with renamed variables in src/: a textual near-duplicate pair (weekly_report.py, monthly_report.py). */
export function addReportClones(workspace) {
  const report = (name, unit) => `def ${name}(orders, tax_rate):\n    """Sum the ${unit} orders, apply tax and group totals by customer."""\n    totals = {}\n    for order in orders:\n        if order.get("cancelled"):\n            continue\n        amount = order["quantity"] * order["unit_price"]\n        amount = amount * (1 + tax_rate)\n        customer = order["customer_id"]\n        totals[customer] = totals.get(customer, 0) + round(amount, 2)\n    return sorted(totals.items(), key=lambda item: item[1], reverse=True)\n`;
  writeFileSync(path.join(workspace, 'src', 'weekly_report.py'), report('weekly_totals', 'weekly'));
  writeFileSync(path.join(workspace, 'src', 'monthly_report.py'), `import math\n\n\n${report('monthly_totals', 'monthly').replaceAll('order', 'sale')}`);
}
