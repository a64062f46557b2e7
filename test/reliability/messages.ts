/**
 * Hostile messages: 1,000 fuzzed messages from the webview through the panel's own checks (what
 * the extension would open), and 1,000 malformed requests straight into a real worker process.
 * Nothing may open a file outside the workspace, throw in the host, or take the worker down.
 * (Script from file names and snippets is checked in a real VS Code by the e2e suite.)
 */
import { fork } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { containedPath, containedRealPath } from '../../src/vscode/containedPath';
import { parsePanelMessage } from '../../src/vscode/panel/panelProtocol';
import { isWorkerMessage, type WorkerMessage } from '../../src/worker/protocol';
import { BUNDLED_MODELS } from '../helpers/paths';
import { copyCorpus, expect, row, scratch, seeded, sleep, WORKER_BUNDLE, type Row } from './harness';

const MESSAGES = 1000;

/** Paths a hostile page would try, and a few honest ones. */
const PATHS = [
  'app/src/uploads.py', 'README.md', 'src/../README.md', '../secret.txt', '../../etc/passwd', 'src/../../secret.txt', '/etc/passwd', 'C:\\Windows\\win.ini',
  '\\\\server\\share\\x', '//server/share/x', 'command:workbench.action.terminal.new', 'file:///etc/passwd', 'escape/secret.txt', 'escape', 'a\0b', '', '.', '..',
  '%2e%2e/secret.txt', 'app/src/../../../secret.txt', 'vscode-resource://x', 'https://example.com/x', 'app/src/uploads.py\n../../etc/passwd', '~/.ssh/id_rsa',
];

function fuzzValue(rand: (n: number) => number, depth = 0): unknown {
  switch (rand(depth > 2 ? 6 : 9)) {
    case 0: return rand(2) === 0;
    case 1: return [0, -1, 1.5, 2 ** 53, NaN, Infinity, 1e308][rand(7)];
    case 2: return PATHS[rand(PATHS.length)];
    case 3: return 'x'.repeat([0, 10, 5_000, 1_000_000][rand(4)]!);
    case 4: return null;
    case 5: return undefined;
    case 6: return Array.from({ length: rand(4) }, () => fuzzValue(rand, depth + 1));
    case 7: return { __proto__: { polluted: true }, constructor: 'x', toString: 'y' };
    default: return Object.fromEntries(Array.from({ length: rand(5) }, (_, i) => [['type', 'root', 'path', 'start', 'end', 'query', 'filters', 'command', 'a', 'b', 'seq'][rand(11)]!, fuzzValue(rand, depth + 1 + i)]));
  }
}

/** Half well-shaped messages with hostile values, half shapeless ones. */
function panelMessage(rand: (n: number) => number, roots: string[]): unknown {
  const type = ['open', 'compare', 'search', 'command', 'dupes', 'ready', 'eval', 'postMessage', fuzzValue(rand)][rand(9)];
  if (rand(2) === 0) return { type, ...(fuzzValue(rand) as object) };
  const loc = () => ({ root: rand(4) === 0 ? fuzzValue(rand) : roots[rand(roots.length)], path: PATHS[rand(PATHS.length)], start: rand(3) === 0 ? fuzzValue(rand) : 1 + rand(50), end: rand(3) === 0 ? fuzzValue(rand) : 50 + rand(50) });
  switch (type) {
    case 'open': return { type, ...loc() };
    case 'compare': return { type, a: loc(), b: loc() };
    case 'search': return { type, seq: rand(3) === 0 ? fuzzValue(rand) : rand(1000), query: fuzzValue(rand), filters: rand(2) === 0 ? { glob: fuzzValue(rand), language: fuzzValue(rand), include: fuzzValue(rand) } : fuzzValue(rand) };
    case 'command': return { type, command: ['pause', 'rebuild', 'workbench.action.terminal.new', fuzzValue(rand)][rand(4)] };
    default: return { type };
  }
}

export async function messageRow(): Promise<Row> {
  const r = row('messages', `${MESSAGES} fuzzed webview messages through the panel's checks and ${MESSAGES} malformed requests into a real worker: no file outside the workspace, no exception, the worker serves on`);
  const s = scratch('msg');
  const root = path.join(s.dir, 'ws');
  try {
    copyCorpus(root);
    writeFileSync(path.join(s.dir, 'secret.txt'), 'outside the workspace');
    mkdirSync(path.join(s.dir, 'outside'));
    writeFileSync(path.join(s.dir, 'outside', 'secret.txt'), 'outside the workspace');
    symlinkSync(path.join(s.dir, 'outside'), path.join(root, 'escape'));
    const realRoot = realpathSync(root);

    // The webview's messages, as the panel provider takes them: parse, then resolve in the workspace.
    const rand = seeded(4242);
    let accepted = 0;
    let opened = 0;
    for (let i = 0; i < MESSAGES; i++) {
      r.tried++;
      const raw = panelMessage(rand, [root, root, path.join(s.dir, 'outside'), '/']);
      try {
        const message = parsePanelMessage(raw);
        if (!message) continue;
        accepted++;
        const locations = message.type === 'open' ? [message] : message.type === 'compare' ? [message.a, message.b] : [];
        for (const loc of locations) {
          // resolveInWorkspace: the root must be a workspace folder, the path inside it for real.
          const abs = loc.root === root ? containedRealPath(root, loc.path) : undefined;
          if (!abs) continue;
          opened++;
          const real = realpathSync(abs);
          expect(r, containedPath(realRoot, path.relative(realRoot, real)) !== undefined, `message ${i} would open ${real}, outside the workspace`);
        }
      } catch (err) {
        expect(r, false, `message ${i} threw in the host: ${(err as Error).message}`);
      }
    }

    expect(r, containedRealPath(root, 'app/src/uploads.py') !== undefined, 'a file inside the workspace cannot be opened');
    expect(r, containedRealPath(root, 'escape/secret.txt') === undefined, 'a link out of the workspace can be opened');

    // The worker's requests: malformed ones are refused one by one and the worker serves on.
    const child = fork(WORKER_BUNDLE, [], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'], serialization: 'json' });
    const replies = new Map<number, WorkerMessage>();
    let exited = false;
    child.on('exit', () => (exited = true));
    child.on('message', (m: unknown) => {
      if (isWorkerMessage(m) && (m.type === 'result' || m.type === 'error')) replies.set(m.id, m);
    });
    const config = { bundledModelsDir: BUNDLED_MODELS, modelCacheDir: path.join(s.dir, 'cache'), threads: 1, roots: [{ root, indexDir: path.join(s.dir, 'index') }] };
    const reply = async (id: number, message: object) => {
      child.send(message);
      for (let t = 0; t < 600 && !replies.has(id); t++) await sleep(100);
      return replies.get(id);
    };
    expect(r, (await reply(1, { type: 'init', id: 1, config }))?.type === 'result', 'the worker did not start');
    await reply(2, { type: 'index', id: 2 });
    expect(r, replies.get(2)?.type === 'result', 'the worker did not index before the fuzzing');
    const wrand = seeded(777);
    let refused = 0;
    for (let i = 0; i < MESSAGES; i++) {
      r.tried++;
      const id = 1000 + i;
      const type = ['search', 'similar', 'index', 'dupes', 'status', 'init', 'eval', fuzzValue(wrand)][wrand(8)];
      const base = wrand(5) === 0 ? fuzzValue(wrand) : { type, id };
      const message = typeof base === 'object' && base !== null && !Array.isArray(base) ? { ...base, ...(fuzzValue(wrand) as object), ...(type === 'init' ? { config: fuzzValue(wrand) } : {}) } : base;
      // A well-formed shutdown or cancel is a legitimate command, not an attack.
      if ((message as { type?: unknown })?.type === 'shutdown' || (message as { type?: unknown })?.type === 'cancel') continue;
      try {
        child.send(message as object);
      } catch {
        // not serialisable: never reaches the worker
      }
      if (i % 50 === 0) await sleep(20);
    }
    await sleep(2000);
    for (const m of replies.values()) if (m.type === 'error' && m.code === 'bad-request') refused++;
    const last = await reply(99_999, { type: 'search', id: 99_999, query: 'retry a failed upload with exponential backoff', k: 3 });
    expect(r, !exited, 'the worker died under malformed requests');
    expect(r, last?.type === 'result' && (last.result as { hits: { path: string }[] }).hits.some((h) => h.path === 'app/src/uploads.py'), `the worker no longer answers a good search (${JSON.stringify(last)?.slice(0, 200)})`);
    child.kill('SIGKILL');
    r.figures = { 'webview messages': MESSAGES, 'well-formed after checks': accepted, 'opens inside the workspace': opened, 'worker requests': MESSAGES, 'refused as bad requests': refused };
  } finally {
    s.dispose();
  }
  return r;
}
