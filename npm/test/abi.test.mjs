// The wrapper's side of the guest ABI, checked with tiny stand-in modules (test-support/fake-core.mjs)
// so it holds whatever the real core does.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { CacheFixture, requireBuiltPackage } from '../test-support/cache-fixture.mjs';
import {
  echoArgsCore,
  environCountCore,
  packageWithFakeCore,
  preopensCore,
  trappingCore,
} from '../test-support/fake-core.mjs';

requireBuiltPackage();

const EBADF = 8;
const packages = [];
let cache;
before(() => {
  cache = new CacheFixture();
});
after(() => {
  cache.cleanup();
  for (const pkg of packages) pkg.cleanup();
});

async function load(wasm) {
  const pkg = packageWithFakeCore(wasm);
  packages.push(pkg);
  return { ...(await import(pathToFileURL(pkg.esm).href)), pkg };
}

/** The argv the core received, from the echo core's InternalError. */
async function argvOf(call) {
  const error = await call().then(
    () => assert.fail('the echo core prints no JSON, so this must throw'),
    (e) => e,
  );
  assert.equal(error.code, 'InternalError');
  return withoutLocation(error.stdout.toString('utf8').split('\0').slice(0, -1));
}

/** argv without the cache location the wrapper puts before the command (core-wasm's location.rs). */
function withoutLocation(argv) {
  return argv.filter((arg, i) => i === 0 || !/^--cache-(origin|path|state)=/.test(arg));
}

test('argv is exactly the CLI argv, always with --json', async () => {
  const core = await load(echoArgsCore());
  const cacheDir = cache.hub;
  assert.deepEqual(await argvOf(() => core.list({ cacheDir })), ['mlxk', 'list', '--json']);
  assert.deepEqual(
    await argvOf(() => core.list({ cacheDir, pattern: 'llama', all: true, health: true, verbose: true })),
    ['mlxk', 'list', 'llama', '--all', '--health', '--verbose', '--json'],
  );
  assert.deepEqual(await argvOf(() => core.health({ cacheDir })), ['mlxk', 'health', '--json']);
  assert.deepEqual(await argvOf(() => core.health({ cacheDir, model: 'org/model@abc' })), [
    'mlxk', 'health', 'org/model@abc', '--json',
  ]);
  assert.deepEqual(await argvOf(() => core.show({ cacheDir, model: 'org/model', files: true })), [
    'mlxk', 'show', 'org/model', '--files', '--json',
  ]);
  assert.deepEqual(await argvOf(() => core.show({ cacheDir, model: 'org/model', config: true })), [
    'mlxk', 'show', 'org/model', '--config', '--json',
  ]);
  assert.deepEqual(await argvOf(() => core.version()), ['mlxk', '--version', '--json']);
  // A value that looks like a flag goes after `--`.
  assert.deepEqual(await argvOf(() => core.list({ cacheDir, pattern: '-4bit', all: true })), [
    'mlxk', 'list', '--all', '--json', '--', '-4bit',
  ]);
  // run() passes argv through untouched, after where the cache came from.
  const raw = await core.run(['list', 'x', '--all'], { cacheDir });
  assert.equal(
    raw.stdout.toString('utf8'),
    `mlxk\0--cache-origin=--cache-dir\0--cache-path=${cacheDir}\0list\0x\0--all\0`,
  );
  const missing = path.join(cacheDir, 'nope');
  const none = await core.run(['list'], { cacheDir: missing });
  assert.equal(
    none.stdout.toString('utf8'),
    `mlxk\0--cache-origin=--cache-dir\0--cache-path=${missing}\0--cache-state=missing\0list\0`,
  );
  const saved = process.env.HF_HUB_CACHE;
  process.env.HF_HUB_CACHE = cacheDir;
  try {
    const fromEnv = await core.run(['list']);
    assert.match(fromEnv.stdout.toString('utf8'), /^mlxk\0--cache-origin=HF_HUB_CACHE\0/);
  } finally {
    if (saved === undefined) delete process.env.HF_HUB_CACHE;
    else process.env.HF_HUB_CACHE = saved;
  }
});

test('the environment is empty', async () => {
  const core = await load(environCountCore());
  process.env.MLXK_SHOULD_NOT_LEAK = '1';
  try {
    assert.equal((await core.run(['list'], { cacheDir: cache.hub })).exitCode, 0);
  } finally {
    delete process.env.MLXK_SHOULD_NOT_LEAK;
  }
});

test('the cache is the only preopen, as /cache; a missing cache gives no preopen', async () => {
  const core = await load(preopensCore());
  const present = await core.run([], { cacheDir: cache.hub });
  assert.equal(present.stdout.toString('utf8'), '/cache');
  assert.equal(present.exitCode, 0 + (EBADF << 8), 'fd 3 is /cache and fd 4 does not exist');

  const missing = await core.run([], { cacheDir: path.join(cache.root, 'missing') });
  assert.equal(missing.stdout.toString('utf8'), '');
  assert.equal(missing.exitCode, EBADF + (EBADF << 8), 'no preopen at all');

  const file = path.join(cache.root, 'a-file');
  writeFileSync(file, 'not a directory');
  assert.equal((await core.run([], { cacheDir: file })).exitCode, EBADF + (EBADF << 8));
});

test('exit code, stdout and stderr come back from run()', async () => {
  const core = await load(echoArgsCore({ stderr: 'diagnostic text', exitCode: 1 }));
  const result = await core.run(['health'], { cacheDir: cache.hub });
  assert.equal(result.exitCode, 1);
  assert.ok(Buffer.isBuffer(result.stdout) && Buffer.isBuffer(result.stderr));
  assert.deepEqual(withoutLocation(result.stdout.toString('utf8').split('\0').slice(0, -1)), ['mlxk', 'health']);
  assert.equal(result.stderr.toString('utf8'), 'diagnostic text');
});

test('stdout that is not JSON is an InternalError with the exit code and stderr', async () => {
  const core = await load(echoArgsCore({ stderr: 'something broke', exitCode: 3 }));
  await assert.rejects(
    () => core.list({ cacheDir: cache.hub }),
    (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.code, 'InternalError');
      assert.equal(error.exitCode, 3);
      assert.match(error.message, /exit code 3/);
      assert.match(error.message, /something broke/);
      return true;
    },
  );
});

test('a trap is an InternalError carrying stderr, and leaks no descriptor', async () => {
  const core = await load(trappingCore('panicked at src/main.rs'));
  const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
  await core.run([], { cacheDir: cache.hub }).catch(() => {});
  const before = openFds();
  for (let i = 0; i < 50; i++) {
    await assert.rejects(
      () => core.run(['list'], { cacheDir: cache.hub }),
      (error) => error.code === 'InternalError' && /panicked at src\/main\.rs/.test(error.message),
    );
  }
  assert.ok(openFds() - before < 5, `${openFds() - before} descriptors leaked`);
});

test("the core's stderr never reaches the process's stderr", async () => {
  const core = await load(echoArgsCore({ stderr: 'GUEST-STDERR', exitCode: 1 }));
  const script = `
    import { run } from ${JSON.stringify(pathToFileURL(core.pkg.esm).href)};
    const { stderr } = await run(['list'], { cacheDir: ${JSON.stringify(cache.hub)} });
    console.log(stderr.toString());`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout, 'GUEST-STDERR\n');
  assert.equal(child.stderr, '');
});
