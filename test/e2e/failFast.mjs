// A test that leaves a screenshot behind when it fails, and prints the extension's own log tail
// with the first failure. After one failure the rest of the file is skipped at once: its tests
// share one workbench, and waiting out each one's timeout on a broken extension only delays the report.
import * as path from 'node:path';
import { test as nodeTest } from 'node:test';
import { logTail } from './codeServer.mjs';

/** `test(name, fn)` for one file's tests; `page()` and `userData()` read the file's current ones. */
export function failFastTests({ shots, prefix, page, userData }) {
  let firstFailure;
  return function test(name, fn) {
    nodeTest(name, async (t) => {
      if (firstFailure) {
        t.skip(`skipped after "${firstFailure}" failed`);
        return;
      }
      try {
        await fn();
      } catch (err) {
        firstFailure = name;
        await withTimeout(page()?.screenshot({ path: path.join(shots, `failed-${prefix}${name.replace(/\W+/g, '-').slice(0, 60)}.png`) }), 10_000).catch(() => {});
        if (userData()) console.error(`extension log at the first failure:\n${logTail(userData())}`);
        throw err;
      }
    });
  };
}

/** `promise`, or a rejection after `ms`: teardown must end however the browser or host misbehave. */
export function withTimeout(promise, ms) {
  let timer;
  return Promise.race([Promise.resolve(promise), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}
