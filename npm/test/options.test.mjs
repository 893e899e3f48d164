// Options are checked before the core runs: a misspelt or mistyped option is a TypeError with a
// stable code, never silently read as absent (rm({ model, dry_run: true }) must not delete).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CacheFixture, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();
const api = await import('../index.mjs');
const { health, list, rm, run, show, version } = api;

let cache;
let repoDir;
before(() => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/name');
  repoDir = path.join(cache.hub, 'models--org--name');
});
after(() => cache.cleanup());

/** Asserts that `call` throws the option TypeError naming `option` (when given). */
async function refused(call, option, pattern) {
  await assert.rejects(call, (error) => {
    assert.ok(error instanceof TypeError, `${error}`);
    assert.equal(error.code, 'ERR_MLXK_INVALID_OPTION');
    assert.equal(error.option, option);
    if (pattern) assert.match(error.message, pattern);
    return true;
  });
}

test('rm with a misspelt option deletes nothing, whatever the spelling', async () => {
  for (const key of ['dry_run', 'dryrun', 'DryRun', 'dry-run']) {
    await refused(() => rm({ cacheDir: cache.hub, model: 'org/name', [key]: true }), key, /did you mean 'dryRun'/);
    assert.ok(existsSync(repoDir), `rm deleted the model for ${key}`);
  }
  // Also with throwOnError off (the default) and on: a bad option is never an envelope.
  await refused(() => rm({ cacheDir: cache.hub, model: 'org/name', forse: true, throwOnError: false }), 'forse');
  await refused(() => rm({ cacheDir: cache.hub, model: 'org/name', Force: true, throwOnError: true }), 'Force', /'force'/);
  assert.ok(existsSync(repoDir));
  // Spelt right, the dry run reports and keeps everything.
  const dry = await rm({ cacheDir: cache.hub, model: 'org/name', dryRun: true });
  assert.equal(dry.data.action, 'would_delete');
  assert.ok(existsSync(repoDir));
});

test('every function refuses an option it does not know', async () => {
  const cacheDir = cache.hub;
  const cases = [
    [() => list({ cacheDir, patern: 'x' }), 'patern', /did you mean|known/],
    [() => list({ cacheDir, verbos: true }), 'verbos'],
    [() => health({ cacheDir, Deep: true }), 'Deep', /'deep'/],
    [() => health({ cacheDir, on_progress: () => {} }), 'on_progress', /'onProgress'/],
    [() => show({ cacheDir, model: 'org/name', file: true }), 'file'],
    [() => show({ cacheDir, model: 'org/name', cache_dir: cacheDir }), 'cache_dir', /'cacheDir'/],
    [() => version({ cacheDir, json: true }), 'json'],
    [() => run(['list'], { cacheDir, throwOnError: true }), 'throwOnError'],
    [() => run(['list'], { cachedir: cacheDir }), 'cachedir', /'cacheDir'/],
  ];
  for (const [call, option, pattern] of cases) await refused(call, option, pattern);
  const symbol = Symbol('x');
  await refused(() => list({ cacheDir, [symbol]: 1 }), 'Symbol(x)');
});

test('wrong types are refused before anything runs', async () => {
  const cacheDir = cache.hub;
  const cases = [
    [() => list({ cacheDir, all: 'yes' }), 'all', /must be a boolean, got string/],
    [() => list({ cacheDir: 42 }), 'cacheDir', /must be a string, got number/],
    [() => list({ cacheDir: '' }), 'cacheDir', /must not be empty/],
    [() => list({ cacheDir, pattern: 7 }), 'pattern'],
    [() => health({ cacheDir, deep: 1 }), 'deep'],
    [() => health({ cacheDir, onProgress: 'log' }), 'onProgress', /must be a function/],
    [() => show({ cacheDir, model: 42 }), 'model'],
    [() => show({ cacheDir, model: null }), 'model', /got null/],
    [() => rm({ cacheDir, model: 'org/name', force: 'false' }), 'force'],
    [() => rm({ cacheDir, model: 'org/name', dryRun: 0 }), 'dryRun'],
    [() => rm({ cacheDir, model: 'org/name', throwOnError: 'no' }), 'throwOnError'],
    [() => show({ cacheDir }), 'model', /required/],
    [() => rm({ cacheDir }), 'model', /required/],
  ];
  for (const [call, option, pattern] of cases) await refused(call, option, pattern);
  assert.ok(existsSync(repoDir));
});

test('options must be an object: a bare model name, null or an array is refused', async () => {
  await refused(() => rm('org/name'), undefined, /did you mean rm\(\{ model: "org\/name" \}\)/);
  await refused(() => show('org/name'), undefined, /options must be an object, got a string/);
  await refused(() => list(null), undefined, /got null/);
  await refused(() => health([]), undefined, /got an array/);
  await refused(() => version(1), undefined, /got a number/);
  await refused(() => run(['list'], 'x'), undefined);
  await refused(() => run('list'), undefined, /argv must be an array/);
  assert.ok(existsSync(repoDir));
});

test('a NUL character is refused: node:wasi would cut the name there and act on another model', async () => {
  await refused(() => rm({ cacheDir: cache.hub, model: 'org/name\0-something-else', force: true }), 'model', /NUL/);
  await refused(() => show({ cacheDir: cache.hub, model: 'org/name\0' }), 'model', /NUL/);
  await refused(() => list({ cacheDir: `${cache.hub}\0` }), 'cacheDir', /NUL/);
  await refused(() => run(['rm', 'org/name\0x', '--force', '--json'], { cacheDir: cache.hub }), undefined, /NUL/);
  assert.ok(existsSync(repoDir), 'the model the truncated name names was deleted');
});

test('undefined counts as absent, so optional flags can be passed through', async () => {
  const listed = await list({ cacheDir: cache.hub, pattern: undefined, all: undefined });
  assert.equal(listed.status, 'success');
  const kept = await rm({ cacheDir: cache.hub, model: 'org/name', dryRun: true, force: undefined });
  assert.equal(kept.data.action, 'would_delete');
  assert.equal((await version()).status, 'success');
  assert.ok(existsSync(repoDir));
});

test('the CommonJS entry validates the same way', async () => {
  const { createRequire } = await import('node:module');
  const cjs = createRequire(import.meta.url)('../index.cjs');
  await refused(() => cjs.rm({ cacheDir: cache.hub, model: 'org/name', dry_run: true }), 'dry_run');
  assert.ok(existsSync(repoDir));
});

test('prune with a misspelt option removes nothing; pull patterns must be arrays of strings', async () => {
  const { prune, pull } = api;
  await refused(() => prune({ cacheDir: cache.hub, dry_run: true }), 'dry_run', /'dryRun'/);
  await refused(() => prune({ cacheDir: cache.hub, dryRun: 'yes' }), 'dryRun');
  assert.ok(existsSync(repoDir));
  const dry = await prune({ cacheDir: cache.hub, dryRun: true });
  assert.equal(dry.command, 'prune');
  assert.equal(dry.data.dry_run, true);
  for (const include of ['*.gguf', [1], [''], ['a\0b'], {}]) {
    await refused(() => pull({ cacheDir: cache.hub, model: 'org/x', include }), 'include', /array of non-empty strings/);
  }
  await refused(() => pull({ cacheDir: cache.hub, model: 'org/x', exclude: 'x' }), 'exclude');
  await refused(() => pull({ cacheDir: cache.hub, model: 'org/x', includes: ['x'] }), 'includes', /unknown option 'includes'/);
});
