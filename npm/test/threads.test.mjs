// Calls run off the main thread: the event loop keeps ticking while the core works, a call can
// be aborted (signal) or time out (timeoutMs) and the pool recovers, and many concurrent calls
// complete without leaking descriptors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CacheFixture, ESM_ENTRY, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();
const { health, list, run } = await import(ESM_ENTRY);

/** Repos in the large cache: enough that list() takes many timer periods. */
const REPOS = 1000;

let large;
let small;
let deep;
before(() => {
  large = new CacheFixture();
  for (let i = 0; i < REPOS; i++) {
    const model = addHealthyModel(large, `org/model-${String(i).padStart(4, '0')}`);
    for (let f = 0; f < 8; f++) model.file(`extra/file-${f}.json`, '{}');
  }
  small = new CacheFixture();
  for (const id of ['org/a', 'org/b', 'other/c']) addHealthyModel(small, id);
  // A 1 GiB file the deep audit hashes whole (sparse zeros, named by its sha256 like an LFS blob).
  deep = new CacheFixture();
  const model = addHealthyModel(deep, 'org/big');
  const zeros = Buffer.alloc(1 << 20);
  const digest = createHash('sha256');
  for (let i = 0; i < 1024; i++) digest.update(zeros);
  const blob = path.join(model.dir, 'blobs', digest.digest('hex'));
  const fd = openSync(blob, 'w');
  writeSync(fd, Buffer.from([0]), 0, 1, (1 << 30) - 1);
  closeSync(fd);
  model.link('big.bin', path.relative(path.dirname(model.snapshotPath('big.bin')), blob));
});
after(() => {
  for (const fixture of [large, small, deep]) fixture?.cleanup();
});

const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);

/** Runs `call` while a 10 ms interval counts its ticks. */
async function ticksDuring(call) {
  let ticks = 0;
  const timer = setInterval(() => (ticks += 1), 10);
  const started = Date.now();
  try {
    const result = await call();
    return { result, ticks, ms: Date.now() - started };
  } finally {
    clearInterval(timer);
  }
}

test(`the event loop keeps ticking during list() of ${REPOS} repos`, { timeout: 300_000 }, async () => {
  await list({ cacheDir: small.hub }); // the module is compiled, a worker started
  const { result, ticks, ms } = await ticksDuring(() => list({ cacheDir: large.hub, all: true }));
  assert.equal(result.status, 'success');
  assert.equal(result.data.count, REPOS);
  // A blocked loop cannot tick before the call settles (the interval is cleared right then).
  assert.ok(ticks >= 2, `${ticks} ticks in ${ms} ms`);
});

test('the event loop keeps ticking during health({deep: true}) of a 1 GiB model', { timeout: 300_000 }, async () => {
  const events = [];
  const { result, ticks, ms } = await ticksDuring(() =>
    health({ cacheDir: deep.hub, deep: true, onProgress: (p) => events.push(p) }),
  );
  assert.equal(result.status, 'success', JSON.stringify(result));
  assert.equal(result.data.summary.healthy_count, 1, JSON.stringify(result));
  assert.ok(ticks >= 2, `${ticks} ticks in ${ms} ms`);
  // Progress still arrives, in order, from the worker.
  assert.ok(events.length > 0, 'no progress events');
  for (let i = 1; i < events.length; i++) assert.ok(events[i].bytesHashed >= events[i - 1].bytesHashed);
});

test('an aborted call rejects with an AbortError, and the next call works', { timeout: 120_000 }, async () => {
  const controller = new AbortController();
  const call = list({ cacheDir: large.hub, all: true, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('enough')), 20);
  await assert.rejects(call, (error) => error.name === 'AbortError' && error.code === 'ABORT_ERR' && /enough/.test(error.message));
  // Already aborted: refused before any work.
  await assert.rejects(list({ cacheDir: small.hub, signal: controller.signal }), { name: 'AbortError' });
  // A timeout is an AbortError too.
  await assert.rejects(list({ cacheDir: large.hub, all: true, timeoutMs: 5 }), (error) => error.name === 'AbortError' && /timed out after 5 ms/.test(error.message));
  const after = await list({ cacheDir: small.hub });
  assert.equal(after.status, 'success');
  assert.equal(after.data.count, 3);
  // run() takes the same options.
  const controller2 = new AbortController();
  controller2.abort();
  await assert.rejects(run(['list', '--json'], { cacheDir: small.hub, signal: controller2.signal }), { name: 'AbortError' });
});

test('bad signal and timeoutMs options are refused', async () => {
  await assert.rejects(list({ cacheDir: small.hub, signal: {} }), { code: 'ERR_MLXK_INVALID_OPTION', option: 'signal' });
  for (const timeoutMs of [0, -1, Number.NaN, Infinity]) {
    await assert.rejects(list({ cacheDir: small.hub, timeoutMs }), { code: 'ERR_MLXK_INVALID_OPTION', option: 'timeoutMs' });
  }
  await assert.rejects(list({ cacheDir: small.hub, timeoutMs: '5' }), { code: 'ERR_MLXK_INVALID_OPTION' });
});

test('200 concurrent calls all complete, with no descriptor left open', { timeout: 300_000 }, async () => {
  // The pool at its full size first (each worker thread has descriptors of its own).
  await Promise.all(Array.from({ length: 16 }, () => list({ cacheDir: small.hub })));
  const before = openFds();
  const results = await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      i % 2 ? list({ cacheDir: small.hub }) : health({ cacheDir: small.hub, model: 'org/a' }),
    ),
  );
  assert.ok(results.every((r) => r.status === 'success'), JSON.stringify(results.find((r) => r.status !== 'success')));
  assert.ok(results.filter((_, i) => i % 2).every((r) => r.data.count === 3));
  // Aborted calls do not leak either: the guest is stopped at its next call into the host and
  // its descriptors closed, at whatever point the abort comes.
  for (let i = 0; i < 20; i++) {
    const controller = new AbortController();
    const call = list({ cacheDir: large.hub, signal: controller.signal });
    setTimeout(() => controller.abort(), 2 + 3 * i);
    await assert.rejects(call, { name: 'AbortError' });
  }
  await Promise.all(Array.from({ length: 16 }, () => list({ cacheDir: small.hub })));
  const leaked = openFds() - before;
  assert.ok(leaked <= 0, `${leaked} descriptors more than before`);
});
