import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';

import { CJS_ENTRY, CacheFixture, ESM_ENTRY, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';
import { CJS_TYPES, ESM_TYPES, toCommonJs } from '../scripts/build.mjs';

requireBuiltPackage();
const esm = await import('../index.mjs');
const cjs = createRequire(import.meta.url)('../index.cjs');

let cache;
before(() => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/name');
  addHealthyModel(cache, 'org/second');
});
after(() => cache.cleanup());

test('index.cjs and index.d.cts are up to date with their sources', () => {
  assert.equal(readFileSync(CJS_ENTRY, 'utf8'), toCommonJs(readFileSync(ESM_ENTRY, 'utf8')));
  assert.equal(readFileSync(CJS_TYPES, 'utf8'), readFileSync(ESM_TYPES, 'utf8'));
});

test('both entry points export the same API', () => {
  const names = ['createHostImports', 'health', 'list', 'prune', 'pull', 'resolveCacheDir', 'rm', 'run', 'show', 'version'];
  assert.deepEqual(Object.keys(esm).sort(), names);
  assert.deepEqual(Object.keys(cjs).sort(), names);
});

test('ESM and CJS give deep-equal results', async () => {
  const calls = [
    (api) => api.list({ cacheDir: cache.hub }),
    (api) => api.list({ cacheDir: cache.hub, pattern: 'second', all: true }),
    (api) => api.health({ cacheDir: cache.hub }),
    (api) => api.health({ cacheDir: cache.hub, model: 'org/name' }),
    (api) => api.show({ cacheDir: cache.hub, model: 'org/name' }),
    (api) => api.show({ cacheDir: cache.hub, model: 'org/name', files: true }),
    (api) => api.show({ cacheDir: cache.hub, model: 'nobody/nothing' }),
    (api) => api.version(),
  ];
  for (const call of calls) {
    assert.deepEqual(await call(cjs), await call(esm));
  }
  const raw = await cjs.run(['list', '--all'], { cacheDir: cache.hub });
  assert.deepEqual(raw, await esm.run(['list', '--all'], { cacheDir: cache.hub }));
  assert.deepEqual(cjs.resolveCacheDir({ HF_HOME: '/x' }), esm.resolveCacheDir({ HF_HOME: '/x' }));
});

test('CJS throwOnError throws like ESM', async () => {
  const options = { cacheDir: cache.hub, model: 'nobody/nothing', throwOnError: true };
  const caught = await Promise.all([esm, cjs].map((api) => api.show(options).catch((e) => e)));
  for (const error of caught) {
    assert.ok(error instanceof Error);
    assert.equal(error.code, 'model_not_found');
  }
  assert.equal(caught[0].message, caught[1].message);
  assert.deepEqual(caught[0].data, caught[1].data);
});
