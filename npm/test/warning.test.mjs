// Loading node:wasi prints "ExperimentalWarning: WASI is an experimental feature" once per
// process; the package must keep it out of its users' stderr without hiding other warnings.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CJS_ENTRY, CacheFixture, ESM_ENTRY, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();

let cache;
before(() => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/name');
});
after(() => cache.cleanup());

function node(args) {
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.signal, null, `killed by ${child.signal}`);
  assert.equal(child.status, 0, `exit ${child.status}\nstderr: ${child.stderr}`);
  return child;
}

test('ESM consumer: stderr is empty', () => {
  const script = `
    import { list } from ${JSON.stringify(pathToFileURL(ESM_ENTRY).href)};
    const envelope = await list({ cacheDir: ${JSON.stringify(cache.hub)} });
    console.log(envelope.data.count);`;
  const child = node(['--input-type=module', '-e', script]);
  assert.equal(child.stderr, '');
  assert.equal(child.stdout, '1\n');
});

test('CJS consumer: stderr is empty', () => {
  const script = `
    const { list } = require(${JSON.stringify(CJS_ENTRY)});
    list({ cacheDir: ${JSON.stringify(cache.hub)} }).then((envelope) => console.log(envelope.data.count));`;
  const child = node(['-e', script]);
  assert.equal(child.stderr, '');
  assert.equal(child.stdout, '1\n');
});

test('other warnings still reach stderr, and process.emitWarning is restored', () => {
  const script = `
    import { list } from ${JSON.stringify(pathToFileURL(ESM_ENTRY).href)};
    const original = process.emitWarning;
    await list({ cacheDir: ${JSON.stringify(cache.hub)} });
    if (process.emitWarning !== original) throw new Error('process.emitWarning was not restored');
    process.emitWarning('something else is experimental', 'ExperimentalWarning');
    process.emitWarning('WASI from somewhere else', 'DeprecationWarning');`;
  const child = node(['--input-type=module', '-e', script]);
  assert.match(child.stderr, /ExperimentalWarning: something else is experimental/);
  assert.match(child.stderr, /DeprecationWarning: WASI from somewhere else/);
  assert.doesNotMatch(child.stderr, /WASI is an experimental feature/);
});
