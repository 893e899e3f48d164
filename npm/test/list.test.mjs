import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { CacheFixture, addHealthyModel, commit, requireBuiltPackage } from '../test-support/cache-fixture.mjs';

requireBuiltPackage();
const { health, list, run, show, version } = await import('../index.mjs');

let cache;
let name;
before(() => {
  cache = new CacheFixture();
  name = addHealthyModel(cache, 'org/name');
  addHealthyModel(cache, 'org/other-4bit');
});
after(() => cache.cleanup());

test('list returns a success envelope with org/name and its blob sizes', async () => {
  const envelope = await list({ cacheDir: cache.hub });
  assert.equal(envelope.status, 'success');
  assert.equal(envelope.command, 'list');
  assert.equal(envelope.error, null);
  assert.equal(envelope.data.count, 2);
  assert.equal(envelope.data.models.length, 2);
  const model = envelope.data.models.find((m) => m.name === 'org/name');
  assert.ok(model, `org/name missing from ${JSON.stringify(envelope.data.models.map((m) => m.name))}`);
  assert.equal(model.size_bytes, name.snapshotBytes);
  assert.equal(model.hash, commit('org/name'));
  assert.equal(model.cached, true);
  assert.equal(model.health, 'healthy');
});

test('list keys come in the CLI order', async () => {
  const { stdout } = await run(['list', '--json'], { cacheDir: cache.hub });
  const text = stdout.toString('utf8');
  assert.match(text, /^\{\n  "status": "success",\n  "command": "list",\n  "data": \{/);
  assert.deepEqual(Object.keys(JSON.parse(text)), ['status', 'command', 'data', 'error']);
});

test('list filters by pattern, including one that starts with a dash', async () => {
  const plain = await list({ cacheDir: cache.hub, pattern: 'OTHER' });
  assert.deepEqual(plain.data.models.map((m) => m.name), ['org/other-4bit']);
  const dashed = await list({ cacheDir: cache.hub, pattern: '-4bit' });
  assert.equal(dashed.status, 'success', JSON.stringify(dashed.error));
  assert.deepEqual(dashed.data.models.map((m) => m.name), ['org/other-4bit']);
});

test('list flags do not change the JSON', async () => {
  const plain = await list({ cacheDir: cache.hub });
  const flagged = await list({ cacheDir: cache.hub, all: true, health: true, verbose: true });
  assert.deepEqual(flagged, plain);
});

test('a cacheDir that does not exist is cache_not_found, naming it', async () => {
  const missing = path.join(cache.root, 'does-not-exist');
  const envelope = await list({ cacheDir: missing });
  assert.equal(envelope.status, 'error');
  assert.equal(envelope.error.type, 'cache_not_found');
  assert.equal(envelope.error.message, `Cache directory '${missing}' (set by --cache-dir) does not exist`);
});

test('a missing default cache is an empty success', async () => {
  const home = path.join(cache.root, 'empty-home');
  const saved = { ...process.env };
  for (const name of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME']) delete process.env[name];
  process.env.HOME = home;
  try {
    const envelope = await list();
    assert.equal(envelope.status, 'success');
    assert.equal(envelope.data.count, 0);
    assert.deepEqual(envelope.data.models, []);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
});

test('a relative cacheDir is resolved against the working directory', async () => {
  const relative = path.relative(process.cwd(), cache.hub);
  assert.deepEqual(await list({ cacheDir: relative }), await list({ cacheDir: cache.hub }));
});

test('health reports the fixture models as healthy', async () => {
  const all = await health({ cacheDir: cache.hub });
  assert.equal(all.status, 'success');
  assert.equal(all.command, 'health');
  assert.deepEqual(all.data.summary, { total: 2, healthy_count: 2, unhealthy_count: 0 });

  const one = await health({ cacheDir: cache.hub, model: 'org/name' });
  assert.equal(one.status, 'success');
  assert.deepEqual(
    one.data.healthy.map((e) => [e.name, e.status]),
    [['org/name', 'healthy']],
  );
});

test('show returns the model, its files and its config', async () => {
  const rev = commit('org/name');
  const shown = await show({ cacheDir: cache.hub, model: `org/name@${rev.slice(0, 7)}` });
  assert.equal(shown.status, 'success', JSON.stringify(shown.error));
  assert.equal(shown.data.model.name, 'org/name');
  assert.equal(shown.data.model.hash, rev);
  assert.equal(shown.data.model.size_bytes, name.snapshotBytes);
  assert.deepEqual(shown.data.model.quantization, { bits: 4, group_size: 64 });

  const files = await show({ cacheDir: cache.hub, model: 'org/name', files: true });
  assert.deepEqual(
    files.data.files.map((f) => f.name),
    ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'],
  );
  assert.equal(files.data.metadata, null);

  const config = await show({ cacheDir: cache.hub, model: 'org/name', config: true });
  assert.equal(config.data.config.model_type, 'llama');
});

test('show without a model is a TypeError', async () => {
  await assert.rejects(() => show({ cacheDir: cache.hub }), TypeError);
});

test('error envelopes are returned unchanged by default', async () => {
  const envelope = await show({ cacheDir: cache.hub, model: 'nobody/nothing' });
  assert.equal(envelope.status, 'error');
  assert.equal(envelope.command, 'show');
  assert.equal(envelope.error.type, 'model_not_found');
  assert.equal(envelope.data, null);
});

test('throwOnError throws an Error with .code, .message and .data', async () => {
  const envelope = await show({ cacheDir: cache.hub, model: 'nobody/nothing' });
  await assert.rejects(
    () => show({ cacheDir: cache.hub, model: 'nobody/nothing', throwOnError: true }),
    (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.code, 'model_not_found');
      assert.equal(error.message, envelope.error.message);
      assert.deepEqual(error.data, envelope);
      return true;
    },
  );
  await assert.rejects(
    () => show({ cacheDir: cache.hub, model: 'org', throwOnError: true }),
    (error) => error.code === 'ambiguous_match' && error.data.error.matches.length === 2,
  );
  // A success is still returned as is.
  assert.equal((await list({ cacheDir: cache.hub, throwOnError: true })).status, 'success');
});

test('version', async () => {
  const envelope = await version();
  assert.equal(envelope.status, 'success');
  assert.equal(envelope.command, 'version');
  assert.equal(typeof envelope.data.cli_version, 'string');
  assert.equal(typeof envelope.data.json_api_spec_version, 'string');
});

test('run gives the raw exit code and output; human text without --json', async () => {
  const human = await run(['list', '--all'], { cacheDir: cache.hub });
  assert.equal(human.exitCode, 0);
  assert.match(human.stdout.toString('utf8'), /org\/name/);
  assert.throws(() => JSON.parse(human.stdout.toString('utf8')));

  const usage = await run(['show', '--json'], { cacheDir: cache.hub });
  assert.equal(usage.exitCode, 2);
  const envelope = JSON.parse(usage.stdout.toString('utf8'));
  assert.equal(envelope.status, 'error');
  assert.equal(envelope.command, null);
  assert.equal(envelope.error.type, 'CommandError');

  const failed = await run(['show', 'nobody/nothing', '--json'], { cacheDir: cache.hub });
  assert.equal(failed.exitCode, 1);
});

test('run rejects argv that is not an array of strings', async () => {
  await assert.rejects(() => run('list'), TypeError);
  await assert.rejects(() => run(['list', 1]), TypeError);
});

test('concurrent calls do not mix their output', async () => {
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => list({ cacheDir: cache.hub, pattern: i % 2 ? 'other' : 'org/name' })),
  );
  results.forEach((envelope, i) => {
    assert.deepEqual(envelope.data.models.map((m) => m.name), [i % 2 ? 'org/other-4bit' : 'org/name']);
  });
});

