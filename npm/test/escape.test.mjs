// Symlinks that point out of the cache must never make the core read what they point at.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { CacheFixture, addHealthyModel, commit, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();
const { run } = await import('../index.mjs');

const SECRET = 'TOP-SECRET-7f3c9a1e-do-not-print';

let cache;
let outsideFile;
before(() => {
  cache = new CacheFixture();
  addHealthyModel(cache, 'org/good');
  outsideFile = cache.outside('outside.txt', `${SECRET}\n`);
  cache.outside('outside.json', JSON.stringify({ model_type: SECRET, architectures: [SECRET] }));
  cache.outside(`outside-dir/${SECRET}.safetensors`, Buffer.alloc(512, SECRET));
  // snapshots/<rev>/ is four levels below the temp root, so ../../../../ leaves the cache.
  cache
    .model('org/leaky')
    .snapshot(commit('org/leaky'))
    .file('config.json', JSON.stringify({ model_type: 'llama' }))
    .file('model.safetensors', Buffer.alloc(1024, 'w'))
    .link('outside.txt', '../../../../outside.txt')
    .link('README.md', '../../../../outside.txt')
    .link('nested/deeper.txt', '../../../../../outside.txt')
    .link('weights', '../../../../outside-dir')
    .link('absolute.txt', outsideFile)
    .ref('main');
  // A model whose config.json itself escapes.
  cache
    .model('org/escaped-config')
    .snapshot(commit('org/escaped-config'))
    .link('config.json', '../../../../outside.json')
    .file('model.safetensors', Buffer.alloc(1024, 'w'))
    .ref('main');
});
after(() => cache.cleanup());

const ARGVS = [
  ['list'],
  ['list', '--all', '--health', '--verbose'],
  ['health'],
  ['health', 'org/leaky'],
  ['health', 'org/escaped-config'],
  ['show', 'org/leaky'],
  ['show', 'org/leaky', '--files'],
  ['show', 'org/leaky', '--config'],
  ['show', 'org/escaped-config'],
  ['show', 'org/escaped-config', '--config'],
  ['show', 'org/escaped-config', '--files'],
];

for (const argv of ARGVS) {
  for (const mode of [['--json'], []]) {
    const full = [...argv, ...mode];
    test(`no secret in the output of mlxk ${full.join(' ')}`, async () => {
      const { exitCode, stdout, stderr } = await run(full, { cacheDir: cache.hub });
      assert.ok(exitCode === 0 || exitCode === 1, `exit code ${exitCode}, stderr: ${stderr}`);
      for (const [stream, bytes] of [['stdout', stdout], ['stderr', stderr]]) {
        assert.ok(!bytes.includes(SECRET), `${stream} leaks the secret:\n${bytes.toString('utf8')}`);
      }
      if (mode.length) JSON.parse(stdout.toString('utf8'));
    });
  }
}

test('the escaping model is listed and counted without the outside bytes', async () => {
  const { stdout } = await run(['list', '--json'], { cacheDir: cache.hub });
  const models = JSON.parse(stdout.toString('utf8')).data.models;
  const leaky = models.find((m) => m.name === 'org/leaky');
  assert.ok(leaky, 'org/leaky is listed');
  const insideBytes = JSON.stringify({ model_type: 'llama' }).length + 1024;
  assert.equal(leaky.size_bytes, insideBytes);
});

test('the escaping model is reported unhealthy', async () => {
  const { stdout } = await run(['health', '--json'], { cacheDir: cache.hub });
  const data = JSON.parse(stdout.toString('utf8')).data;
  assert.deepEqual(
    data.healthy.map((e) => e.name),
    ['org/good'],
  );
  assert.deepEqual(data.unhealthy.map((e) => e.name).sort(), ['org/escaped-config', 'org/leaky']);
});
