// Many calls in one long-lived process.
// * Node 20 could crash with SIGSEGV after a few hundred node:wasi runs (V8 fast API calls from
//   wasm into node:wasi; nodejs/node#53087, #52402). The package wraps every WASI import in a JS
//   closure to avoid it. The loop runs in a child so a crash shows up as a signal.
// * Node 20's node:wasi never closes a WASI object's preopen, so the package closes the guest's
//   descriptors after each run; the process must not gain one open fd per call.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CacheFixture, ESM_ENTRY, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();

const CALLS = 300;

let cache;
before(() => {
  cache = new CacheFixture();
  for (const id of ['org/name', 'org/second', 'other/third']) addHealthyModel(cache, id);
});
after(() => cache.cleanup());

test(`${CALLS} sequential calls in one process: no crash, no descriptor leak`, { timeout: 120_000 }, () => {
  const script = `
    import { existsSync, readdirSync } from 'node:fs';
    import { list } from ${JSON.stringify(pathToFileURL(ESM_ENTRY).href)};
    const cacheDir = ${JSON.stringify(cache.hub)};
    const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    await list({ cacheDir });
    const fdsBefore = openFds();
    let garbage = [];
    for (let i = 0; i < ${CALLS}; i++) {
      const options = [{ cacheDir }, { cacheDir, pattern: 'org' }, { cacheDir, all: true, health: true }][i % 3];
      const envelope = await list(options);
      if (envelope.status !== 'success' || envelope.data.count < 2) {
        throw new Error('call ' + i + ': ' + JSON.stringify(envelope));
      }
      garbage.push(new Array(10_000).fill(i)); // GC pressure
      if (garbage.length > 20) garbage = [];
    }
    console.log(JSON.stringify({ done: ${CALLS}, leakedFds: openFds() - fdsBefore }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 110_000,
  });
  assert.equal(child.signal, null, `child died with ${child.signal}\nstderr: ${child.stderr}`);
  assert.equal(child.status, 0, `exit ${child.status}\nstderr: ${child.stderr}`);
  const result = JSON.parse(child.stdout);
  assert.equal(result.done, CALLS);
  assert.ok(result.leakedFds < 5, `${result.leakedFds} descriptors leaked over ${CALLS} calls`);
});
