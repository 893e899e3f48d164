// Builds real Hugging Face hub caches on disk for the tests:
//   <root>/hub/models--org--name/blobs/<sha256 of content>
//   <root>/hub/models--org--name/snapshots/<commit>/<file> -> ../../blobs/<sha256>   (relative symlink)
//   <root>/hub/models--org--name/refs/main                 "<commit>" (no newline)
//
//   const cache = new CacheFixture();
//   cache.model('org/name').snapshot(REV).file('config.json', '{"model_type":"llama"}').ref('main');
//   ... cache.hub ...
//   cache.cleanup();

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PKG_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ESM_ENTRY = path.join(PKG_DIR, 'index.mjs');
export const CJS_ENTRY = path.join(PKG_DIR, 'index.cjs');

/** Fails early, with the fix, when the package has not been built. */
export function requireBuiltPackage() {
  for (const file of ['core.wasm', 'index.cjs']) {
    if (!existsSync(path.join(PKG_DIR, file))) {
      throw new Error(`${file} is missing in ${PKG_DIR}; run \`npm run build\` first`);
    }
  }
}

/** A 40-hex commit id derived from a label, so tests read well and stay deterministic. */
export function commit(label) {
  return createHash('sha1').update(label).digest('hex');
}

export function sha256(content) {
  return createHash('sha256').update(content).digest('hex');
}

export class CacheFixture {
  constructor() {
    /** Temp dir holding the cache and anything "outside" it. */
    this.root = mkdtempSync(path.join(os.tmpdir(), 'mlxk-npm-'));
    /** The hub cache dir (what `cacheDir` points at). */
    this.hub = path.join(this.root, 'hub');
    mkdirSync(this.hub);
  }

  /** Starts (or continues) the repo `org/name`. */
  model(id) {
    return new ModelBuilder(this, id);
  }

  /** Writes a file relative to `root`, outside the cache. Returns its absolute path. */
  outside(rel, content) {
    const file = path.join(this.root, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
    return file;
  }

  cleanup() {
    rmSync(this.root, { recursive: true, force: true });
  }
}

class ModelBuilder {
  constructor(fixture, id) {
    this.fixture = fixture;
    this.dir = path.join(fixture.hub, `models--${id.split('/').join('--')}`);
    this.rev = null;
    /** Bytes of every file added to the current snapshot, counted per file. */
    this.snapshotBytes = 0;
    for (const sub of ['blobs', 'snapshots', 'refs']) mkdirSync(path.join(this.dir, sub), { recursive: true });
  }

  snapshot(rev) {
    this.rev = rev;
    this.snapshotBytes = 0;
    mkdirSync(path.join(this.dir, 'snapshots', rev), { recursive: true });
    return this;
  }

  /** Stores `content` as a blob and links `snapshots/<rev>/<rel>` to it with a relative symlink. */
  file(rel, content) {
    const bytes = Buffer.from(content);
    const blob = path.join(this.dir, 'blobs', sha256(bytes));
    if (!existsSync(blob)) writeFileSync(blob, bytes);
    this.link(rel, path.relative(path.dirname(this.snapshotPath(rel)), blob));
    this.snapshotBytes += bytes.length;
    return this;
  }

  /** Creates `snapshots/<rev>/<rel>` as a symlink with exactly this target. */
  link(rel, target) {
    const link = this.snapshotPath(rel);
    mkdirSync(path.dirname(link), { recursive: true });
    symlinkSync(target, link);
    return this;
  }

  /** Writes `refs/<name>` holding the commit, without a trailing newline. */
  ref(name, rev = this.rev) {
    const file = path.join(this.dir, 'refs', name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, rev);
    return this;
  }

  snapshotPath(rel) {
    if (!this.rev) throw new Error('call snapshot(rev) before adding files');
    return path.join(this.dir, 'snapshots', this.rev, rel);
  }
}

/** A small, healthy MLX chat model: config, weights over 200 bytes, tokenizer files. */
export function addHealthyModel(fixture, id, rev = commit(id)) {
  const model = fixture
    .model(id)
    .snapshot(rev)
    .file(
      'config.json',
      JSON.stringify({
        model_type: 'llama',
        architectures: ['LlamaForCausalLM'],
        max_position_embeddings: 2048,
        quantization: { bits: 4, group_size: 64 },
      }),
    )
    .file('model.safetensors', Buffer.alloc(4096, id))
    .file('tokenizer.json', JSON.stringify({ version: '1.0', model: { type: 'BPE' } }))
    .file('tokenizer_config.json', JSON.stringify({ chat_template: '{{ messages }}' }))
    .ref('main');
  return model;
}
