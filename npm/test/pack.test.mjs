// Packs the package, installs the tarball offline into a scratch project and uses it from
// both `import` and `require`, the way a consumer would.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CacheFixture, PKG_DIR, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const EXPECTED_FILES = ['README.md', 'bin/mlx-knife.mjs', 'core.wasm', 'help.json', 'index.cjs', 'index.d.cts', 'index.d.ts', 'index.mjs', 'package.json', 'worker.mjs'];

let cache;
before(() => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/name');
});
after(() => cache.cleanup());

function exec(command, args, cwd) {
  const child = spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(child.error, undefined, String(child.error));
  assert.equal(child.status, 0, `${command} ${args.join(' ')} exited ${child.status}\n${child.stderr}`);
  return child;
}

test('npm pack, offline install, import and require', { timeout: 240_000 }, (t) => {
  const packDir = path.join(cache.root, 'pack');
  const scratch = path.join(cache.root, 'scratch');
  mkdirSync(packDir);
  mkdirSync(scratch);

  const packed = JSON.parse(exec(NPM, ['pack', '--json', '--pack-destination', packDir], PKG_DIR).stdout)[0];
  assert.deepEqual(packed.files.map((f) => f.path).sort(), EXPECTED_FILES);
  const tarball = path.join(packDir, packed.filename);
  t.diagnostic(`${packed.filename}: ${statSync(tarball).size} bytes packed, ${packed.unpackedSize} unpacked`);

  writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  exec(NPM, ['install', '--offline', '--no-audit', '--no-fund', tarball], scratch);

  writeFileSync(
    path.join(scratch, 'esm.mjs'),
    `import { list, show } from 'mlx-knife';
     const cacheDir = process.argv[2];
     console.log(JSON.stringify([await list({ cacheDir }), await show({ cacheDir, model: 'org/name', files: true })]));`,
  );
  writeFileSync(
    path.join(scratch, 'cjs.cjs'),
    `const { list, show } = require('mlx-knife');
     const cacheDir = process.argv[2];
     Promise.all([list({ cacheDir }), show({ cacheDir, model: 'org/name', files: true })])
       .then((results) => console.log(JSON.stringify(results)));`,
  );

  const esm = exec(process.execPath, ['esm.mjs', cache.hub], scratch);
  const cjs = exec(process.execPath, ['cjs.cjs', cache.hub], scratch);
  assert.equal(esm.stderr, '');
  assert.equal(cjs.stderr, '');
  const [listed, shown] = JSON.parse(esm.stdout);
  assert.equal(listed.status, 'success');
  assert.deepEqual(listed.data.models.map((m) => m.name), ['org/name']);
  assert.equal(shown.status, 'success');
  assert.deepEqual(JSON.parse(cjs.stdout), JSON.parse(esm.stdout));

  // The bins, as npx runs them from the installed package: the envelope the API gives.
  for (const bin of ['mlx-knife', 'mlxk']) {
    const ran = exec(path.join(scratch, 'node_modules', '.bin', bin), ['list', '--json', '--cache-dir', cache.hub], scratch);
    assert.deepEqual(JSON.parse(ran.stdout), listed);
  }
  const npx = exec('npx', ['--offline', 'mlx-knife', 'list', '--json', '--cache-dir', cache.hub], scratch);
  assert.deepEqual(JSON.parse(npx.stdout), listed);
  const help = exec('npx', ['--offline', 'mlx-knife', '--help'], scratch);
  assert.match(help.stdout, /^.*\n\nUsage: mlxk/);
});
