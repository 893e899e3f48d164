// A bundled app: the README's esbuild recipe applied to an app that calls list(), the bundle moved
// to a folder with no node_modules and run from there. Three ways to ship the core: core.wasm copied
// beside the bundle, its bytes inlined with `--loader:.wasm=binary` and passed as the `wasm` option,
// and neither (which must fail with the fix in the message, not with a stack from a dead thread).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { build } from 'esbuild';

import { CacheFixture, ESM_ENTRY, PKG_DIR, addHealthyModel, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();
const { list } = await import(ESM_ENTRY);

let cache;
let expected;
before(async () => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/a');
  addHealthyModel(cache, 'org/b');
  expected = await list({ cacheDir: cache.hub });
  assert.equal(expected.status, 'success');
});
after(() => cache.cleanup());

/**
 * Bundles `source` (an app in a scratch project that resolves `mlx-knife` to this package) with the
 * recipe's two entry points, then moves the output to a folder of its own; returns that folder.
 */
async function bundle(name, source, loader = {}) {
  const project = path.join(cache.root, `${name}-project`);
  mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  // The package as an installed dependency (a link, as `npm link` or a workspace makes it).
  spawnSync('ln', ['-s', PKG_DIR, path.join(project, 'node_modules', 'mlx-knife')]);
  writeFileSync(path.join(project, 'app.mjs'), source);
  const outdir = path.join(project, 'dist');
  await build({
    absWorkingDir: project,
    entryPoints: { app: 'app.mjs', worker: 'mlx-knife/worker.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outdir,
    outExtension: { '.js': '.mjs' },
    target: 'node20',
    loader,
    logLevel: 'silent',
  });
  const shipped = path.join(cache.root, `${name}-shipped`);
  renameSync(outdir, shipped);
  return shipped;
}

function runApp(dir) {
  const child = spawnSync(process.execPath, [path.join(dir, 'app.mjs'), cache.hub], {
    cwd: cache.root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(child.error, undefined, String(child.error));
  return child;
}

const APP = `import { list } from 'mlx-knife';
console.log(JSON.stringify(await list({ cacheDir: process.argv[2] })));
`;

test('esbuild: core.wasm copied beside the bundle', async () => {
  const dir = await bundle('copied', APP);
  copyFileSync(path.join(PKG_DIR, 'core.wasm'), path.join(dir, 'core.wasm'));
  const ran = runApp(dir);
  assert.equal(ran.status, 0, ran.stderr);
  assert.equal(ran.stderr, '');
  assert.deepEqual(JSON.parse(ran.stdout), expected);
});

test('esbuild: core.wasm inlined as bytes and passed as the wasm option', async () => {
  const dir = await bundle(
    'inlined',
    `import wasm from 'mlx-knife/core.wasm';
import { list } from 'mlx-knife';
const cacheDir = process.argv[2];
const [first, second] = [await list({ cacheDir, wasm }), await list({ cacheDir, wasm })];
console.log(JSON.stringify(first));
if (JSON.stringify(first) !== JSON.stringify(second)) process.exitCode = 3;
`,
    { '.wasm': 'binary' },
  );
  const ran = runApp(dir);
  assert.equal(ran.status, 0, ran.stderr);
  assert.deepEqual(JSON.parse(ran.stdout), expected);
});

test('esbuild: a bundle without core.wasm or its worker says what to ship', async () => {
  const dir = await bundle(
    'missing',
    `import { list } from 'mlx-knife';
for (const options of [{}, { wasm: new URL('./core.wasm', import.meta.url), worker: new URL('./nowhere.mjs', import.meta.url) }]) {
  try {
    console.log(JSON.stringify(await list({ cacheDir: process.argv[2], ...options })));
  } catch (error) {
    console.log(JSON.stringify({ code: error.code, message: error.message }));
  }
}
`,
  );
  const ran = runApp(dir);
  assert.equal(ran.status, 0, ran.stderr);
  const [noWasm, noWorker] = ran.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(noWasm.code, 'InternalError');
  assert.match(noWasm.message, /cannot load core\.wasm from .*core\.wasm: .*copy core\.wasm beside it or pass the `wasm` option/);
  // With core.wasm there, a worker script that is not: the same kind of error, naming the option.
  copyFileSync(path.join(PKG_DIR, 'core.wasm'), path.join(dir, 'core.wasm'));
  const again = runApp(dir);
  const lines = again.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.deepEqual(lines[0], expected, 'the default worker (bundled beside the app) works');
  assert.equal(lines[1].code, 'InternalError');
  assert.match(lines[1].message, /worker script .*nowhere\.mjs does not exist .*`worker` option/);
  assert.equal(noWorker.code, 'InternalError');
});
