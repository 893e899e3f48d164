// mlx-knife for Node: runs the mlxk core (core.wasm, a WASI preview1 command) under node:wasi.
//
// This file is the source of truth; index.cjs is generated from it by scripts/build.mjs.
// Keep the syntax simple: one `import` per line, `export [async] function` only, and
// `import.meta.url` only on the two lines marked `// esm-only`.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, realpathSync, statSync, writeSync } from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

const WASM_LOCATION = new URL('./core.wasm', import.meta.url); // esm-only
const WORKER_LOCATION = new URL('./worker.mjs', import.meta.url); // esm-only
const loadBuiltin = createRequire(import.meta.url); // esm-only

/** Status codes of the `mlxk_host_v1` imports (the ABI is documented in core-wasm's capability.rs). */
const CAP_OK = 0;
const CAP_NOT_FOUND = 1;
const CAP_REFUSED = 2;
const CAP_NOT_A_FILE = 3;
const CAP_IO = 4;
const CAP_BAD_ARGS = 5;
const CAP_UNSUPPORTED = 6;
/** Longest path the guest may pass. */
const CAP_MAX_PATH = 4096;
/** Read size for hashing: small enough that each chunk is still in the CPU cache when it is hashed (1 MiB chunks made the kernel copy cost as much as the hash). */
const HASH_CHUNK = 128 << 10;

/** WASI errno EBADF: no such file descriptor. */
const ERRNO_BADF = 8;
/** WASI errno EFAULT: an iovec points outside the guest's memory. */
const ERRNO_FAULT = 21;

let wasiClass = null;
/** Compiled modules, by file or URL (`href`) and by the bytes they came from. */
const modulesByLocation = new Map();
const modulesByBytes = new WeakMap();

/**
 * Loads `node:wasi` on first use, dropping only its one-time
 * "ExperimentalWarning: WASI is an experimental feature" so it never reaches the user's stderr.
 * Every other warning passes through, and `process.emitWarning` is restored afterwards.
 */
function loadWasi() {
  if (wasiClass) return wasiClass;
  const original = process.emitWarning;
  process.emitWarning = function emitWarning(warning, ...rest) {
    if (isWasiExperimentalWarning(warning, rest[0])) return;
    return original.call(this, warning, ...rest);
  };
  try {
    wasiClass = loadBuiltin('node:wasi').WASI;
  } finally {
    process.emitWarning = original;
  }
  return wasiClass;
}

function isWasiExperimentalWarning(warning, typeOrOptions) {
  const type =
    typeof typeOrOptions === 'string'
      ? typeOrOptions
      : typeOrOptions && typeof typeOrOptions === 'object'
        ? typeOrOptions.type
        : undefined;
  const isExperimental =
    type === 'ExperimentalWarning' || (warning instanceof Error && warning.name === 'ExperimentalWarning');
  const message = warning instanceof Error ? warning.message : String(warning);
  return isExperimental && /\bWASI\b/.test(message);
}

/**
 * The compiled core: `wasm` (the option) is a path, a URL, a `WebAssembly.Module` or the bytes of
 * core.wasm; without it, the core.wasm beside this file. Each is compiled once per process; a failed
 * load is retried on the next call.
 */
function loadModule(wasm) {
  if (wasm instanceof WebAssembly.Module) return Promise.resolve(wasm);
  if (ArrayBuffer.isView(wasm) || wasm instanceof ArrayBuffer) {
    let compiled = modulesByBytes.get(wasm);
    if (!compiled) {
      compiled = WebAssembly.compile(wasm).catch((cause) => {
        modulesByBytes.delete(wasm);
        throw loadError('the bytes given as the `wasm` option', cause);
      });
      modulesByBytes.set(wasm, compiled);
    }
    return compiled;
  }
  const location = wasm === undefined ? WASM_LOCATION : wasm instanceof URL ? wasm : path.resolve(wasm);
  const key = location instanceof URL ? location.href : location;
  let compiled = modulesByLocation.get(key);
  if (!compiled) {
    const bytes =
      location instanceof URL && location.protocol !== 'file:'
        ? fetch(location).then((response) => {
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
            return response.arrayBuffer();
          })
        : readFile(location);
    compiled = bytes
      .then((data) => WebAssembly.compile(data))
      .catch((cause) => {
        modulesByLocation.delete(key);
        throw loadError(location instanceof URL && location.protocol === 'file:' ? fileURLToPath(location) : key, cause);
      });
    modulesByLocation.set(key, compiled);
  }
  return compiled;
}

function loadError(what, cause) {
  const bundled = cause?.code === 'ENOENT' ? ' (in a bundle, copy core.wasm beside it or pass the `wasm` option)' : '';
  const error = new Error(`mlx-knife: cannot load core.wasm from ${what}: ${cause.message}${bundled}`, { cause });
  error.code = 'InternalError';
  return error;
}

/** The `code` of every TypeError a wrong option raises, whatever the option. */
const INVALID_OPTION = 'ERR_MLXK_INVALID_OPTION';

/** Options every command function takes, with the type each must have. */
const COMMON_OPTIONS = {
  cacheDir: 'string',
  workspaceHome: 'string',
  throwOnError: 'boolean',
  signal: 'AbortSignal',
  timeoutMs: 'number',
  wasm: 'wasm',
  worker: 'worker',
};

/** Each function's options (besides the common ones). `model` is required where marked. */
const OPTIONS = {
  list: { pattern: 'string', all: 'boolean', health: 'boolean', verbose: 'boolean' },
  health: { model: 'string', deep: 'boolean', onProgress: 'function' },
  show: { model: 'string', files: 'boolean', config: 'boolean', recalcHash: 'boolean' },
  rm: { model: 'string', force: 'boolean', dryRun: 'boolean', files: 'string[]' },
  prune: { dryRun: 'boolean' },
  pull: {
    model: 'string',
    forceResume: 'boolean',
    include: 'string[]',
    exclude: 'string[]',
    endpoint: 'string',
    token: 'string',
    onProgress: 'function',
  },
  version: {},
};
const REQUIRED = { show: ['model'], rm: ['model'], pull: ['model'] };
const RUN_OPTIONS = {
  cacheDir: 'string',
  workspaceHome: 'string',
  onProgress: 'function',
  signal: 'AbortSignal',
  timeoutMs: 'number',
  wasm: 'wasm',
  worker: 'worker',
};

function invalidOption(fn, message, option) {
  const error = new TypeError(`mlx-knife: ${fn}(): ${message}`);
  error.code = INVALID_OPTION;
  if (option !== undefined) error.option = option;
  return error;
}

/** The known option a misspelt one most likely meant (`dry_run`, `DryRun`, `dry-run` -> `dryRun`). */
function closest(key, known) {
  const squash = (k) => k.toLowerCase().replace(/[-_\s]/g, '');
  return known.find((k) => squash(k) === squash(key));
}

/**
 * Checks an options object before anything runs: a plain object (or nothing), only known keys,
 * each of its type (`undefined` counts as absent, so `{ model, force: flag || undefined }` works).
 * A mistake is always thrown, `throwOnError` or not: it is a bug in the caller, not an outcome,
 * and reading a misspelt `dryRun` as absent would delete for real.
 */
function checkOptions(fn, options, spec) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const got = options === null ? 'null' : Array.isArray(options) ? 'an array' : `a ${typeof options}`;
    const hint = typeof options === 'string' && 'model' in spec ? ` (did you mean ${fn}({ model: ${JSON.stringify(options)} })?)` : '';
    throw invalidOption(fn, `options must be an object, got ${got}${hint}`);
  }
  const known = Object.keys(spec);
  for (const key of Reflect.ownKeys(options)) {
    if (typeof key !== 'string' || !Object.hasOwn(spec, key)) {
      const name = String(key);
      const guess = typeof key === 'string' ? closest(key, known) : undefined;
      const hint = guess ? ` (did you mean '${guess}'?)` : ` (known: ${known.join(', ')})`;
      throw invalidOption(fn, `unknown option '${name}'${hint}`, name);
    }
    const value = options[key];
    if (spec[key] === 'AbortSignal') {
      if (value !== undefined && !(value instanceof AbortSignal)) {
        throw invalidOption(fn, `option '${key}' must be an AbortSignal`, key);
      }
      continue;
    }
    if (spec[key] === 'wasm') {
      const ok = value === undefined || typeof value === 'string' || value instanceof URL || value instanceof WebAssembly.Module || value instanceof ArrayBuffer || ArrayBuffer.isView(value);
      if (!ok) throw invalidOption(fn, "option 'wasm' must be a path, a URL, a WebAssembly.Module or the bytes of core.wasm", key);
      if (value === '') throw invalidOption(fn, "option 'wasm' must not be empty", key);
      continue;
    }
    if (spec[key] === 'worker') {
      if (value !== undefined && !(typeof value === 'string' && value !== '') && !(value instanceof URL && value.protocol === 'file:')) {
        throw invalidOption(fn, "option 'worker' must be the path or file: URL of mlx-knife's worker.mjs", key);
      }
      continue;
    }
    if (spec[key] === 'string[]') {
      const ok = value === undefined || (Array.isArray(value) && value.every((v) => typeof v === 'string' && v !== '' && !v.includes('\0')));
      if (!ok) throw invalidOption(fn, `option '${key}' must be an array of non-empty strings`, key);
      continue;
    }
    if (key === 'timeoutMs' && value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw invalidOption(fn, "option 'timeoutMs' must be a positive number of milliseconds", key);
    }
    if (value !== undefined && typeof value !== spec[key]) {
      const got = value === null ? 'null' : typeof value;
      throw invalidOption(fn, `option '${key}' must be a ${spec[key]}, got ${got}`, key);
    }
    // node:wasi passes arguments as C strings: 'org/a\0b' would reach the core as 'org/a'.
    if (typeof value === 'string' && value.includes('\0')) {
      throw invalidOption(fn, `option '${key}' must not contain a NUL character`, key);
    }
  }
  for (const key of REQUIRED[fn] ?? []) {
    if (options[key] === undefined) {
      throw invalidOption(fn, `options.${key} is required, e.g. "org/name" or "org/name@rev"`, key);
    }
  }
  if (options.cacheDir === '') throw invalidOption(fn, "option 'cacheDir' must not be empty", 'cacheDir');
  return options;
}

/** Checks a command function's options. */
function commandOptions(fn, options) {
  return checkOptions(fn, options, { ...OPTIONS[fn], ...COMMON_OPTIONS });
}

/**
 * Runs the core once with `argv` (without the leading "mlxk") against `cacheDir`.
 * Resolves to the exit code and everything the core wrote to stdout and stderr.
 */
export async function run(argv, options) {
  if (!Array.isArray(argv) || !argv.every((arg) => typeof arg === 'string' && !arg.includes('\0'))) {
    const error = new TypeError('mlx-knife: run(): argv must be an array of strings without NUL characters');
    error.code = INVALID_OPTION;
    throw error;
  }
  options = checkOptions('run', options, RUN_OPTIONS);
  const download = pullRequestOf(argv);
  if (download) return pullRaw(download, options);
  return execute(argv, options);
}

/**
 * `pull ...` as a download request: its arguments for the core (which parses them, usage errors
 * included) and whether `--json` was given; null for any other command.
 */
function pullRequestOf(argv) {
  if (argv[0] !== 'pull') return null;
  const end = argv.indexOf('--');
  const isOption = (i) => end === -1 || i < end;
  const json = argv.some((arg, i) => arg === '--json' && isOption(i));
  return { args: argv.slice(1).filter((arg, i) => !(arg === '--json' && isOption(i + 1))), json };
}

/** run() after its checks; `options` are already valid (any command's). */
async function execute(argv, options) {
  const { cacheDir, origin } = cacheLocationFrom(options);
  const state = cacheState(cacheDir);
  const module = await loadModule(options.wasm);

  // Where the cache came from, for the core's rule that a named cache must exist
  // (core-wasm's location.rs); the same facts the CLI reports.
  const location = [`--cache-origin=${origin}`, `--cache-path=${cacheDir}`];
  if (state !== null) location.push(`--cache-state=${state}`);
  const preopens = state === null ? { '/cache': cacheDir } : {};
  // The folder a workspace command names, read-only in spirit (node:wasi cannot enforce
  // it); core-wasm's workspace/mount.rs says what the core is told.
  const mount = workspaceMount(argv);
  if (mount) {
    location.push(`--workspace-root=${mount.root}`);
    if (mount.prefix !== undefined) location.push(`--workspace-prefix=${mount.prefix}`);
    preopens['/workspace'] = mount.root;
  }
  // MLXK_WORKSPACE_HOME, for the commands that resolve names there (core-wasm's
  // workspace/home.rs).
  const home = workspaceHomeFrom(options);
  if (home && ['list', 'health', 'show', 'rm'].includes(argv[0])) {
    location.push(`--workspace-home=${home}`);
    preopens['/workspace-home'] = home;
  }
  return runInWorker(
    { args: ['mlxk', ...location, ...argv], preopens, cacheDir, progress: typeof options.onProgress === 'function' },
    module,
    options,
  );
}

/**
 * Runs the core once in this thread (a pool worker): `job.args` is the whole argv, `job.preopens`
 * what the guest sees. Resolves to the exit code and everything the core wrote.
 */
function executeHere(job, module, onProgress, stopped = () => false) {
  const WASI = loadWasi();
  const { cacheDir, preopens } = job;
  const wasi = new WASI({
    version: 'preview1',
    args: job.args,
    env: {},
    preopens,
    returnOnExit: true,
  });

  // Node 20 can crash (SIGSEGV) when wasm calls node:wasi's native functions directly through
  // V8's fast API path (nodejs/node#53087, #52402). Calling them through a JS closure avoids it.
  const imports = {};
  // The closures are also where an abort stops the guest: the next call into WASI traps, and
  // the `finally` below still closes every descriptor (terminating the thread would not).
  for (const [name, fn] of Object.entries(wasi.wasiImport)) {
    imports[name] = (...args) => {
      if (stopped()) throw new GuestStopped();
      return fn(...args);
    };
  }

  const stdout = [];
  const stderr = [];
  let instance = null;
  const host = createHostImports(cacheDir, () => instance.exports.memory, onProgress, stopped);
  const forward = imports.fd_write;
  imports.fd_write = (fd, iovs, iovsLen, nwrittenPtr) => {
    const sink = fd === 1 ? stdout : fd === 2 ? stderr : null;
    if (!sink) return forward(fd, iovs, iovsLen, nwrittenPtr);
    try {
      const memory = instance.exports.memory.buffer;
      const view = new DataView(memory);
      let written = 0;
      for (let i = 0; i < iovsLen; i++) {
        const ptr = view.getUint32(iovs + i * 8, true);
        const len = view.getUint32(iovs + i * 8 + 4, true);
        if (len === 0) continue;
        sink.push(Buffer.from(new Uint8Array(memory, ptr, len)));
        written += len;
      }
      view.setUint32(nwrittenPtr, written, true);
      return 0;
    } catch {
      return ERRNO_FAULT;
    }
  };

  let exitCode;
  try {
    instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports, mlxk_host_v1: host });
    exitCode = wasi.start(instance) ?? 0;
  } catch (cause) {
    if (cause instanceof GuestStopped || stopped()) throw new GuestStopped();
    // A trap (e.g. a panic) or a module that does not link: no exit code the caller can act on.
    const stderrText = Buffer.concat(stderr).toString('utf8').trim();
    const error = new Error(
      `mlx-knife: the core failed (${cause.message})${stderrText ? `: ${stderrText}` : ''}`,
      { cause },
    );
    error.code = 'InternalError';
    error.stdout = Buffer.concat(stdout);
    error.stderr = Buffer.concat(stderr);
    throw error;
  } finally {
    // node:wasi's own fd_close: the wrapper above refuses every call once the run is stopped.
    closeGuestFds(wasi.wasiImport.fd_close);
  }
  return { exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) };
}

/** Thrown through the guest when its call was aborted. */
class GuestStopped extends Error {}

/**
 * Closes every descriptor the run left open: the `/cache` preopen (fd 3) and anything the guest
 * still held when it exited. Node 20's node:wasi never closes them, not even when the WASI object
 * is garbage-collected, so without this each call leaks one directory handle. uvwasi hands out the
 * lowest free number, so open descriptors are dense; stop after a long run of EBADF.
 */
function closeGuestFds(fdClose) {
  for (let fd = 3, misses = 0; misses < 64; fd++) {
    misses = fdClose(fd) === ERRNO_BADF ? misses + 1 : 0;
  }
}

/**
 * The worker pool: every call runs the core in a `worker_threads` worker, so the event loop keeps
 * running while it works. Workers are reused (the module is compiled once, in this thread, and
 * handed to each), at most POOL_SIZE at a time; further calls wait for a free one. An idle worker
 * does not keep the process alive. Aborting a call terminates its worker (a new one replaces it).
 */
const POOL_SIZE = Math.max(1, Math.min(4, typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length));
const pool = { idle: [], count: 0, waiting: [], nextJob: 1 };

/**
 * Starts a pool worker from `location` (the `worker` option, else the worker.mjs beside this file).
 * A missing script is reported here, with the fix, rather than as a failed thread later.
 */
function newWorker(location) {
  const file = workerScript(location);
  if (!existsSync(file)) {
    const error = new Error(
      `mlx-knife: its worker script ${file} does not exist (in a bundle, bundle mlx-knife/worker.mjs beside it or pass the \`worker\` option)`,
    );
    error.code = 'InternalError';
    throw error;
  }
  // No inherited node flags: `--input-type` or `-e` of the parent would break the worker's start.
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(file, { workerData: { mlxKnifeWorker: 1, stop }, execArgv: [] });
  worker.mlxKnifeStop = stop;
  worker.mlxKnifeScript = file;
  worker.unref();
  pool.count += 1;
  return worker;
}

/** The worker script's path for a `worker` option (or its absence). */
function workerScript(location) {
  const script = location === undefined ? WORKER_LOCATION : location instanceof URL ? location : path.resolve(location);
  return script instanceof URL ? fileURLToPath(script) : script;
}

/**
 * A free worker started from the script `location` names: an idle one, a new one while the pool is
 * not full (or in place of an idle one from another script), else the next one released.
 */
function acquireWorker(location) {
  const script = workerScript(location);
  const idle = pool.idle.findIndex((w) => w.mlxKnifeScript === script);
  if (idle !== -1) return Promise.resolve(pool.idle.splice(idle, 1)[0]);
  if (pool.count >= POOL_SIZE && pool.idle.length) discardWorker(pool.idle.shift());
  if (pool.count < POOL_SIZE) return Promise.resolve().then(() => newWorker(location));
  return new Promise((resolve, reject) => pool.waiting.push({ resolve, reject, location, script }));
}

/** A worker free this moment (an idle one, or a new one while the pool is not full), else null. */
function workerNow(location) {
  const script = workerScript(location);
  const idle = pool.idle.findIndex((w) => w.mlxKnifeScript === script);
  if (idle !== -1) return pool.idle.splice(idle, 1)[0];
  return pool.count < POOL_SIZE ? newWorker(location) : null;
}

function releaseWorker(worker) {
  Atomics.store(worker.mlxKnifeStop, 0, 0);
  const next = pool.waiting[0];
  if (next && next.script !== worker.mlxKnifeScript) {
    // The next call wants another script: this worker makes room for one.
    discardWorker(worker);
  } else if (next) {
    pool.waiting.shift();
    next.resolve(worker);
  } else {
    worker.unref();
    pool.idle.push(worker);
  }
}

/** A worker that was terminated or died leaves the pool; a waiting call gets a new one. */
function discardWorker(worker) {
  pool.count -= 1;
  worker.terminate().catch(() => {});
  const next = pool.waiting.shift();
  if (!next) return;
  try {
    next.resolve(newWorker(next.location));
  } catch (error) {
    next.reject(error);
  }
}

function abortError(message, cause) {
  const error = new Error(`mlx-knife: ${message}`, { cause });
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

function abortReason(signal) {
  const reason = signal.reason;
  return abortError(`the call was aborted${reason instanceof Error ? ` (${reason.message})` : ''}`, reason);
}

/** How long an aborted guest may take to reach its next WASI call before its thread is terminated. */
const STOP_GRACE_MS = 2000;

/**
 * Runs `job` in a pool worker; `options.signal` and `options.timeoutMs` cancel it. A cancelled
 * call rejects at once; its guest is stopped at its next call into the host (so its descriptors
 * are closed and the worker is reused), or its thread terminated if it does not get there soon.
 */
async function runInWorker(job, module, options) {
  const { signal, timeoutMs, onProgress } = options;
  if (signal?.aborted) throw abortReason(signal);
  const worker = await acquireWorker(options.worker);
  if (signal?.aborted) {
    releaseWorker(worker);
    throw abortReason(signal);
  }
  const id = pool.nextJob++;
  worker.ref();
  return new Promise((resolve, reject) => {
    let settled = false;
    let timer = null;
    let grace = null;
    const answer = (outcome) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      outcome();
    };
    const finish = (keep) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (grace) clearTimeout(grace);
      if (keep) releaseWorker(worker);
      else discardWorker(worker);
    };
    const cancel = (error) => {
      answer(() => reject(error));
      Atomics.store(worker.mlxKnifeStop, 0, 1);
      grace = setTimeout(() => finish(false), STOP_GRACE_MS);
    };
    const onMessage = (message) => {
      if (message.id !== id) return;
      if (message.progress) {
        if (!settled && typeof onProgress === 'function') onProgress(message.progress);
        return;
      }
      finish(true);
      if (message.result) {
        const { exitCode, stdout, stderr } = message.result;
        answer(() => resolve({ exitCode, stdout: Buffer.from(stdout), stderr: Buffer.from(stderr) }));
      } else if (message.error) {
        const info = message.error;
        const error = new Error(info.message);
        error.code = info.code ?? 'InternalError';
        if (info.stdout) error.stdout = Buffer.from(info.stdout);
        if (info.stderr) error.stderr = Buffer.from(info.stderr);
        answer(() => reject(error));
      }
    };
    const onError = (cause) => {
      finish(false);
      const error = new Error(`mlx-knife: the core's worker failed (${cause.message})`, { cause });
      error.code = 'InternalError';
      answer(() => reject(error));
    };
    const onExit = (code) => {
      finish(false);
      const error = new Error(`mlx-knife: the core's worker exited (code ${code})`);
      error.code = 'InternalError';
      answer(() => reject(error));
    };
    const onAbort = () => cancel(abortReason(signal));
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => cancel(abortError(`the call timed out after ${timeoutMs} ms`)), timeoutMs);
    }
    worker.postMessage({ id, job, module });
  });
}

/** The worker side: runs each job it is sent, posting progress, then the result or the error. */
function serveJobs(stop) {
  const stopped = () => Atomics.load(stop, 0) !== 0;
  const sinks = new Map();
  parentPort.on('message', ({ id, job, module, sink }) => {
    if (sink) {
      serveSink(sinks, id, sink);
      return;
    }
    const onProgress = job.progress ? (progress) => parentPort.postMessage({ id, progress }) : undefined;
    try {
      const { exitCode, stdout, stderr } = executeHere(job, module, onProgress, stopped);
      parentPort.postMessage({ id, result: { exitCode, stdout, stderr } });
    } catch (error) {
      if (error instanceof GuestStopped) {
        parentPort.postMessage({ id, stopped: true });
        return;
      }
      parentPort.postMessage({
        id,
        error: { message: error.message, code: error.code, stdout: error.stdout, stderr: error.stderr },
      });
    }
  });
}

/**
 * The worker side of a [`WorkerSink`]: hashes and appends each batch it is sent, in order, and
 * acknowledges it; a failure is answered once and ends the session.
 */
function serveSink(sinks, id, message) {
  const answer = (reply) => parentPort.postMessage({ id, ...reply });
  try {
    switch (message.op) {
      case 'open': {
        const fd = openSync(message.path, 'a+');
        const session = { fd, algo: message.algo, prefix: Buffer.from(message.prefix, 'latin1'), hash: null };
        sinks.set(id, session);
        session.hash = createHash(session.algo).update(session.prefix);
        // A resumed partial: what it holds is hashed first (it is already on disk).
        if (message.resume) {
          const buffer = Buffer.allocUnsafe(HASH_CHUNK);
          for (let at = 0; ; ) {
            const read = readSync(fd, buffer, 0, HASH_CHUNK, at);
            if (read === 0) break;
            session.hash.update(buffer.subarray(0, read));
            at += read;
          }
        }
        answer({ ack: 0 });
        break;
      }
      case 'data': {
        const session = sinks.get(id);
        const bytes = new Uint8Array(message.buffer);
        session.hash.update(bytes);
        for (let at = 0; at < bytes.length; ) at += writeSync(session.fd, bytes, at);
        answer({ ack: bytes.length });
        break;
      }
      case 'restart': {
        const session = sinks.get(id);
        ftruncateSync(session.fd, 0);
        session.hash = createHash(session.algo).update(session.prefix);
        answer({ ack: 0 });
        break;
      }
      case 'close': {
        const session = sinks.get(id);
        sinks.delete(id);
        const digest = session && message.digest ? session.hash.digest('hex') : null;
        if (session) closeSync(session.fd);
        answer({ closed: true, digest });
        break;
      }
      default:
        throw new Error(`unknown sink operation ${message.op}`);
    }
  } catch (error) {
    const session = sinks.get(id);
    sinks.delete(id);
    if (session) {
      try {
        closeSync(session.fd);
      } catch {}
    }
    answer({ failed: { message: error.message, code: error.code, errno: error.errno, syscall: error.syscall } });
  }
}

// worker.mjs imports this file in a pool worker; there, this is all that runs.
if (!isMainThread && workerData && workerData.mlxKnifeWorker === 1) serveJobs(workerData.stop);

/** `mlxk list [pattern] [--all] [--health] [--verbose] --json` */
export async function list(options) {
  options = commandOptions('list', options);
  const flags = [];
  if (options.all) flags.push('--all');
  if (options.health) flags.push('--health');
  if (options.verbose) flags.push('--verbose');
  return invoke('list', optional(options.pattern), flags, options);
}

/** `mlxk health [model] [--deep] --json` */
export async function health(options) {
  options = commandOptions('health', options);
  return invoke('health', optional(options.model), options.deep ? ['--deep'] : [], options);
}

/**
 * The `mlxk_host_v1` imports core.wasm needs besides WASI: hashing a file inside the cache with
 * node:crypto, probing a lock file's flock, progress. `getMemory()` returns the instance's memory.
 * Every path the guest passes must be relative, `/`-separated, without `.`, `..` or empty parts;
 * its folder must resolve (realpath) inside the cache, and its last component is opened with
 * O_NOFOLLOW, so nothing outside the cache can be named. (Node has no openat: a folder swapped
 * for a link between the check and the open is not caught; the CLI's cap-std handle is immune.)
 */
export function createHostImports(cacheDir, getMemory, onProgress, stopped = () => false) {
  let root = null;
  try {
    root = cacheDir && statSync(cacheDir).isDirectory() ? realpathSync(cacheDir) : null;
  } catch {
    root = null;
  }
  let buffer = null;
  let progress = null;

  const guestPath = (ptr, len) => {
    // wasm i32 arrive signed; addresses are unsigned.
    ptr >>>= 0;
    len >>>= 0;
    const memory = getMemory().buffer;
    if (len > CAP_MAX_PATH || ptr + len > memory.byteLength) throw CAP_BAD_ARGS;
    let rel;
    try {
      rel = new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(memory, ptr, len));
    } catch {
      throw CAP_BAD_ARGS;
    }
    return rel;
  };
  const openInside = (rel) => {
    if (root === null) throw CAP_UNSUPPORTED;
    if (!isValidCapPath(rel)) throw CAP_REFUSED;
    const full = path.join(root, ...rel.split('/'));
    let fd;
    let file;
    try {
      const folder = realpathSync(path.dirname(full));
      if (folder !== root && !folder.startsWith(root + path.sep)) throw CAP_REFUSED;
      file = path.join(folder, path.basename(full));
      fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      throw typeof e === 'number' ? e : capStatus(e);
    }
    let stat;
    try {
      stat = fstatSync(fd, { bigint: true });
    } catch (e) {
      closeSync(fd);
      throw capStatus(e);
    }
    if (!stat.isFile()) {
      closeSync(fd);
      throw CAP_NOT_A_FILE;
    }
    return { fd, stat, file };
  };
  const hashOne = (rel, algo) => {
    const { fd, stat } = openInside(rel);
    try {
      const hash = createHash(algo === 0 ? 'sha256' : 'sha1');
      if (algo === 1) hash.update(`blob ${stat.size}\0`);
      buffer ??= Buffer.allocUnsafe(HASH_CHUNK);
      let total = 0;
      for (;;) {
        let n;
        try {
          n = readSync(fd, buffer, 0, buffer.length, null);
        } catch (e) {
          throw capStatus(e);
        }
        if (n === 0) break;
        if (stopped()) throw CAP_IO;
        hash.update(buffer.subarray(0, n));
        total += n;
        if (progress) {
          progress.bytesHashed += n;
          onProgress({ ...progress });
        }
      }
      return { digest: hash.digest(), total };
    } finally {
      closeSync(fd);
    }
  };
  const guarded = (body) => {
    try {
      return body();
    } catch (e) {
      return typeof e === 'number' ? e : CAP_IO;
    }
  };

  return {
    hash_file(ptr, len, algo, out) {
      return guarded(() => {
        if (algo !== 0 && algo !== 1) throw CAP_BAD_ARGS;
        const { digest, total } = hashOne(guestPath(ptr, len), algo);
        const memory = getMemory().buffer;
        out >>>= 0;
        if (out + 40 > memory.byteLength) throw CAP_BAD_ARGS;
        writeDigest(memory, out, digest, total);
        return CAP_OK;
      });
    },
    // Sequential here: a synchronous import cannot wait for worker threads cheaply, and
    // node:crypto alone already keeps up with openssl.
    hash_files(req, reqLen, out) {
      return guarded(() => {
        req >>>= 0;
        reqLen >>>= 0;
        out >>>= 0;
        const memory = getMemory().buffer;
        if (req + reqLen > memory.byteLength) throw CAP_BAD_ARGS;
        const view = new DataView(memory, req, reqLen);
        const records = [];
        for (let at = 0; at < reqLen; ) {
          if (at + 8 > reqLen) throw CAP_BAD_ARGS;
          const algo = view.getUint32(at, true);
          const len = view.getUint32(at + 4, true);
          if (len > CAP_MAX_PATH || at + 8 + len > reqLen) throw CAP_BAD_ARGS;
          records.push({ algo, ptr: req + at + 8, len });
          at += 8 + len;
        }
        if (out + records.length * 44 > memory.byteLength) throw CAP_BAD_ARGS;
        records.forEach(({ algo, ptr, len }, i) => {
          const at = out + i * 44;
          const status = guarded(() => {
            if (algo !== 0 && algo !== 1) throw CAP_BAD_ARGS;
            const { digest, total } = hashOne(guestPath(ptr, len), algo);
            writeDigest(getMemory().buffer, at + 4, digest, total);
            return CAP_OK;
          });
          const mem = getMemory().buffer;
          if (status !== CAP_OK) new Uint8Array(mem, at, 44).fill(0);
          new DataView(mem).setUint32(at, status, true);
        });
        return CAP_OK;
      });
    },
    probe_lock(ptr, len, out) {
      return guarded(() => {
        const rel = guestPath(ptr, len);
        const { fd, stat, file } = openInside(rel);
        closeSync(fd);
        const held = lockHeld(file, stat);
        if (held === null) return CAP_UNSUPPORTED;
        const memory = getMemory().buffer;
        out >>>= 0;
        if (out + 1 > memory.byteLength) throw CAP_BAD_ARGS;
        new Uint8Array(memory, out, 1)[0] = held ? 1 : 0;
        return CAP_OK;
      });
    },
    // Many folders in one call (core-wasm's fs::listing): declined here, so the core reads
    // folder by folder through node:wasi. Answered from JavaScript (readdirSync, lstatSync,
    // readlinkSync, a realpath per folder) the batch cost 862 ms for `list --all` of 1,000
    // repos x 40 files against 526 ms through uvwasi's own C calls: in Node each fs call from
    // JavaScript costs more than the WASI call it would save.
    list_dirs() {
      return CAP_UNSUPPORTED;
    },
    take_listing() {
      return CAP_UNSUPPORTED;
    },
    progress_begin(totalBytes, files) {
      if (typeof onProgress === 'function') {
        progress = { bytesHashed: 0, totalBytes: Number(totalBytes), files: Number(files) };
        onProgress({ ...progress });
      }
    },
  };
}

/** The 40 bytes of a hash result: the digest zero-padded to 32 bytes, then the byte count (u64 LE). */
function writeDigest(memory, at, digest, total) {
  const view = new Uint8Array(memory, at, 40);
  view.fill(0);
  view.set(digest);
  new DataView(memory).setBigUint64(at + 32, BigInt(total), true);
}

function isValidCapPath(rel) {
  return (
    rel !== '' &&
    !rel.includes('\0') &&
    !rel.includes('\\') &&
    rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..')
  );
}

function capStatus(error) {
  switch (error && error.code) {
    case 'ENOENT':
      return CAP_NOT_FOUND;
    case 'ELOOP':
      return CAP_REFUSED;
    case 'EISDIR':
    case 'ENOTDIR':
      return CAP_NOT_A_FILE;
    default:
      return CAP_IO;
  }
}

/**
 * Where Linux lists the locks held (`/proc/locks`). `MLXK_NODE_PROC_LOCKS` names another file:
 * the test suite points it at nothing to run the "locks cannot be probed here" rule on Linux.
 */
function lockTablePath() {
  return process.env.MLXK_NODE_PROC_LOCKS || '/proc/locks';
}

/** `O_EXLOCK` and `O_NONBLOCK` where the BSD open(2) has them (macOS, FreeBSD, NetBSD, OpenBSD). */
const BSD_LOCK_FLAGS = { darwin: 0x20 | 0x4, freebsd: 0x20 | 0x4, netbsd: 0x20 | 0x4, openbsd: 0x20 | 0x4 };

/**
 * Whether a process holds an flock on the lock file at `file` (already checked to be inside the
 * cache, opened once with O_NOFOLLOW, `stat` its fstat). Node has no flock; `null` where this
 * cannot be known, and core-wasm then decides from the repo's unfinished downloads.
 * - Linux: the kernel's lock table. Lines look like `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`;
 *   `->` lines are waiters, not holders.
 * - BSDs and macOS: open(2) with `O_EXLOCK | O_NONBLOCK` takes the same lock flock(2) takes, or
 *   fails with EWOULDBLOCK while another process holds it; closing releases it at once.
 */
function lockHeld(file, stat) {
  if (process.platform === 'linux') return procLocksHeld(stat);
  const flags = BSD_LOCK_FLAGS[process.platform];
  if (flags === undefined) return null;
  let fd;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | flags);
  } catch (e) {
    return e && (e.code === 'EAGAIN' || e.code === 'EWOULDBLOCK') ? true : null;
  }
  try {
    // The same file, not one swapped in since the first open.
    const now = fstatSync(fd, { bigint: true });
    return now.dev === stat.dev && now.ino === stat.ino ? false : null;
  } finally {
    closeSync(fd);
  }
}

function procLocksHeld(stat) {
  let table;
  try {
    table = readFileSync(lockTablePath(), 'utf8');
  } catch {
    return null;
  }
  const dev = stat.dev;
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  for (const line of table.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] !== 'FLOCK') continue;
    const id = fields.find((f) => /^[0-9a-f]+:[0-9a-f]+:\d+$/.test(f));
    if (!id) continue;
    const [maj, min, ino] = id.split(':');
    if (BigInt(`0x${maj}`) === major && BigInt(`0x${min}`) === minor && BigInt(ino) === stat.ino) return true;
  }
  return false;
}

/** `mlxk show <model> [--files] [--config] [--recalc-hash] --json` */
export async function show(options) {
  options = commandOptions('show', options);
  const flags = [];
  if (options.files) flags.push('--files');
  if (options.config) flags.push('--config');
  if (options.recalcHash) flags.push('--recalc-hash');
  return invoke('show', [options.model], flags, options);
}

/** `mlxk rm <model> [--force] [--dry-run] --json` */
export async function rm(options) {
  options = commandOptions('rm', options);
  const flags = [];
  if (options.force) flags.push('--force');
  if (options.dryRun) flags.push('--dry-run');
  for (const glob of options.files ?? []) flags.push(`--files=${glob}`);
  return invoke('rm', [options.model], flags, options);
}

/** `mlxk prune [--dry-run] --json` */
export async function prune(options) {
  options = commandOptions('prune', options ?? {});
  return invoke('prune', [], options.dryRun ? ['--dry-run'] : [], options);
}

/**
 * `mlxk pull <model> --json` from Node. The core decides everything: whether the network is needed
 * (`pull --plan`), what to write from the Hub's answers (`pull --write-plan`: every name, link,
 * digest and document) and the envelope (`pull --finish`, with the pulled revision's health). This
 * side only moves bytes: it asks the Hub, streams each file into its resumable `.incomplete`
 * partial while hashing it, and renames and links what the plan names once the digest matches.
 */
export async function pull(options) {
  options = commandOptions('pull', options);
  const args = [
    ...(options.forceResume === true ? ['--force-resume'] : []),
    ...(options.include ?? []).map((glob) => `--include=${glob}`),
    ...(options.exclude ?? []).map((glob) => `--exclude=${glob}`),
    '--',
    options.model,
  ];
  const raw = await pullRaw({ args, json: true }, options);
  return envelopeOf(raw, options);
}

/**
 * The download behind pull() and `run(['pull', ...])`: resolves to the core's exit code and output
 * for `request` ({args, json}: the arguments after `pull`, without `--json`), as the CLI prints them.
 */
async function pullRaw(request, options) {
  // One deadline for the whole pull, every request and core call included.
  const signals = [options.signal, options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs)].filter(Boolean);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const guest = { ...options, onProgress: undefined, timeoutMs: undefined, signal };
  try {
    return await pullWith(request, options, guest, signal);
  } catch (error) {
    if (signal?.aborted) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw abortError(`the call timed out after ${options.timeoutMs} ms`, signal.reason);
    }
    throw error;
  }
}

async function pullWith(request, options, guest, signal) {
  const json = request.json ? ['--json'] : [];
  const planned = await execute(['pull', '--plan', ...request.args], guest);
  // A usage error (exit 2) is the core's to print, as is every answer the cache gives.
  const plan = planned.exitCode === 0 ? parseGuestJson(planned) : null;
  if (!plan || plan.decision !== 'fetch') return execute(['pull', ...json, ...request.args], guest);
  const state = { repo_id: plan.repo_id, revision: plan.revision, expanded_name: plan.expanded_name ?? null, commit: null };
  const selection = plan.selection ?? {};
  const finish = (outcome) => execute(['pull', ...json, '--finish', '--', JSON.stringify({ ...state, outcome })], guest);
  const offline = ['HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'].find((name) =>
    ['1', 'ON', 'YES', 'TRUE'].includes(String(process.env[name] ?? '').trim().toUpperCase()),
  );
  if (offline) return finish({ offline });

  const { cacheDir } = cacheLocationFrom(options);
  const hub = new HubClient(options.endpoint ?? hubEndpoint(), options.token ?? hubToken(), signal);
  const writePlan = async (info, pages) =>
    parseGuestJson(
      await execute(['pull', '--write-plan', '--', JSON.stringify({ repo_id: plan.repo_id, revision: plan.revision, info, pages, selection })], guest),
    );
  let info;
  try {
    info = (await hub.json(plan.revision_url)).body;
  } catch (error) {
    return finish({ revision_failed: hubReply(error) });
  }
  const revision = await writePlan(info, null);
  if (revision.revision_failed) return finish({ revision_failed: revision.revision_failed });
  state.commit = revision.commit;
  const pages = [];
  try {
    for (let next = revision.listing; next; ) {
      const page = await hub.json(next);
      pages.push(page.body);
      next = page.next;
    }
  } catch (error) {
    return finish({ listing_failed: hubReply(error) });
  }
  const written = await writePlan(info, pages);
  if (written.failed) return finish({ listing_failed: written.failed });
  if (written.nothing_selected !== undefined) return finish({ nothing_selected: written.nothing_selected });
  const write = written.plan;

  if (write.probe !== null) {
    const smallest = write.files.find((f) => f.path === write.probe);
    try {
      const status = await hub.head(smallest.url);
      if (status === 401 || status === 403) return finish('probe_refused');
    } catch (error) {
      return finish(fileFailed(smallest, { kind: 'hub', reply: hubReply(error) }));
    }
  }

  const cache = new CacheWriter(cacheDir);
  const writing = async (step) => {
    try {
      await step();
      return null;
    } catch (error) {
      if (error instanceof WriteFailure) return finish({ write_failed: { path: error.path, reason: error.reason } });
      throw error;
    }
  };
  const prepared = await writing(async () => {
    await cache.open();
    if (!(await cache.exists(write.tag.path))) await cache.writeAtomic(write.tag.path, write.tag.content);
    for (const dir of write.dirs) await cache.mkdirs(dir);
    if (!(await cache.exists(write.tree.path))) await cache.writeAtomic(write.tree.path, write.tree.content);
  });
  if (prepared) return prepared;
  const settings = { ...pullSettings(), worker: guest.worker };
  const progress = pullProgress(options.onProgress, write.files);
  const result = await fetchAll(write.files, settings.jobs, (file) => fetchFile(hub, cache, file, settings, progress));
  if (result.failure) {
    if (result.failure.abort) throw result.failure.abort;
    return finish(result.failure.outcome);
  }
  // The ref comes last: it only ever names a complete snapshot.
  const referenced = await writing(async () => {
    if (write.ref_file && (await cache.readSmall(write.ref_file.path)) !== write.ref_file.content) {
      await cache.writeAtomic(write.ref_file.path, write.ref_file.content);
    }
  });
  if (referenced) return referenced;
  return finish({
    done: {
      snapshot: path.join(cacheDir, ...write.snapshot.split('/')),
      files: write.files.length,
      downloaded: result.downloaded,
      bytes: result.bytes,
    },
  });
}

/** The JSON a core step printed (its protocol documents), or null. */
function parseGuestJson(ran) {
  try {
    return JSON.parse(ran.stdout.toString('utf8'));
  } catch {
    const error = new Error(`mlx-knife: the core's pull step printed no JSON: ${ran.stderr.toString('utf8').trim()}`);
    error.code = 'InternalError';
    throw error;
  }
}

/** The `file_failed` outcome of a planned file. */
function fileFailed(file, failure) {
  return { file_failed: { path: file.path, size: file.size, algo: file.algo, expected: file.expected, failure } };
}

/** HF_ENDPOINT, else the Hub. */
function hubEndpoint() {
  const value = (process.env.HF_ENDPOINT ?? '').trim().replace(/\/+$/, '');
  return value || 'https://huggingface.co';
}

/** The token as huggingface_hub (and the CLI) find it: HF_TOKEN, HUGGING_FACE_HUB_TOKEN, then the token file. */
function hubToken() {
  const get = (name) => (process.env[name] ? process.env[name] : undefined);
  const clean = (t) => t.replace(/[\r\n]/g, '').trim() || undefined;
  const direct = get('HF_TOKEN') ?? get('HUGGING_FACE_HUB_TOKEN');
  if (direct !== undefined) return clean(direct);
  const home = get('HOME') ?? os.homedir();
  const expand = (p) => (p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p);
  const file = get('HF_TOKEN_PATH')
    ? expand(get('HF_TOKEN_PATH'))
    : path.join(expand(get('HF_HOME') ?? path.join(get('XDG_CACHE_HOME') ?? path.join(home, '.cache'), 'huggingface')), 'token');
  try {
    return clean(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function envNumber(name) {
  const n = Number.parseInt(String(process.env[name] ?? '').trim(), 10);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** The CLI's tuning variables, read the same way. */
function pullSettings() {
  return {
    jobs: Math.min(32, Math.max(1, envNumber('MLXK_PULL_JOBS') ?? 8)),
    attempts: Math.min(100, Math.max(1, envNumber('MLXK_PULL_RETRIES') ?? 5)),
    stallMs: Math.max(1, envNumber('MLXK_PULL_TIMEOUT_SECS') ?? 60) * 1000,
    lockTimeoutSecs: envNumber('MLXK_LOCK_TIMEOUT_SECS') ?? 600,
  };
}

/** A failed Hub request: the core's `HubReply`. */
class HubFailure extends Error {
  constructor(reply) {
    super(reply.reason ?? `HTTP ${reply.status}`);
    this.reply = reply;
  }
}

function hubReply(error) {
  if (error instanceof HubFailure) return error.reply;
  if (error?.name === 'AbortError') throw error;
  return { kind: 'network', reason: String(error?.message ?? error) };
}

const MAX_REDIRECTS = 10;
const MAX_RETRY_AFTER_MS = 30_000;

/** The Hub at one endpoint with one token: redirects by hand (the token stays on the endpoint's origin), retries with backoff. */
class HubClient {
  constructor(endpoint, token, signal) {
    this.endpoint = endpoint.replace(/\/+$/, '');
    this.origin = new URL(this.endpoint).origin;
    this.token = token;
    this.signal = signal;
    this.settings = pullSettings();
  }

  /** One request (following redirects); the final response whatever its status. */
  async send(pathOrUrl, { method = 'GET', range } = {}) {
    let url = new URL(pathOrUrl.startsWith('/') ? `${this.endpoint}${pathOrUrl}` : pathOrUrl);
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers = { 'user-agent': 'mlx-knife-node', 'accept-encoding': 'identity' };
      if (this.token && url.origin === this.origin) headers.authorization = `Bearer ${this.token}`;
      if (range !== undefined) headers.range = `bytes=${range}-`;
      let response;
      try {
        response = await httpRequest(url, { method, headers, signal: this.signal, stallMs: this.settings.stallMs });
      } catch (error) {
        if (error?.name === 'AbortError' || this.signal?.aborted) throw error;
        throw new HubFailure({ kind: 'network', reason: String(error?.message ?? error) });
      }
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || !location) return response;
      response.discard();
      const next = new URL(location.trim(), url);
      if (!['http:', 'https:'].includes(next.protocol) || (url.protocol === 'https:' && next.protocol === 'http:')) {
        throw new HubFailure({ kind: 'malformed', reason: `refused a redirect to '${next.href}': it leaves https, or http(s)` });
      }
      url = next;
    }
    throw new HubFailure({ kind: 'malformed', reason: `more than ${MAX_REDIRECTS} redirects` });
  }

  /** A request that must succeed (or be a 416 to a range), retried while the failure is transient. */
  async get(pathOrUrl, range) {
    for (let failures = 0; ; ) {
      let error;
      let retryAfter;
      try {
        const response = await this.send(pathOrUrl, { range });
        if (response.ok || response.status === 416) return response;
        response.discard();
        const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
        retryAfter = Number.isFinite(seconds) ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : undefined;
        error = new HubFailure({
          kind: 'http',
          status: response.status,
          code: response.headers.get('x-error-code'),
          message: response.headers.get('x-error-message'),
        });
      } catch (caught) {
        if (!(caught instanceof HubFailure)) throw caught;
        error = caught;
      }
      failures += 1;
      const { reply } = error;
      const transient = reply.kind === 'network' || (reply.kind === 'http' && (reply.status === 408 || reply.status === 429 || reply.status >= 500));
      if (!transient || failures >= this.settings.attempts) throw error;
      await sleep(retryAfter ?? Math.min(500 * 2 ** Math.min(failures - 1, 4), 8000), this.signal);
    }
  }

  /** A JSON document and the `rel="next"` link of its page (kept on the Hub's origin). */
  async json(pathOrUrl) {
    const response = await this.get(pathOrUrl);
    let body;
    try {
      body = JSON.parse(await response.text());
    } catch (error) {
      if (error?.name === 'AbortError') throw error;
      throw new HubFailure({ kind: 'malformed', reason: `${pathOrUrl}: not JSON (${error.message})` });
    }
    const link = /<([^>]*)>\s*;\s*rel="next"/.exec(response.headers.get('link') ?? '');
    let next = null;
    if (link) {
      const url = new URL(link[1], this.endpoint);
      if (url.origin !== this.origin) throw new HubFailure({ kind: 'malformed', reason: `tree page link leaves the Hub: ${link[1]}` });
      next = url.href;
    }
    return { body, next };
  }

  /** The status of a HEAD (redirects followed). */
  async head(pathOrUrl) {
    const response = await this.send(pathOrUrl, { method: 'HEAD' });
    response.discard();
    return response.status;
  }
}

/** Keep-alive connection pools, one per scheme, made on first use. */
const agents = {};

/**
 * One HTTP request with node:http(s) (its streams cost half what fetch's web streams do on a large
 * body): resolves to `{status, ok, headers.get(), body (a Readable), text(), discard()}` once the
 * headers are in. A server silent for `stallMs` fails the request, or the body's iteration.
 */
function httpRequest(url, { method, headers, signal, stallMs }) {
  const secure = url.protocol === 'https:';
  const scheme = secure ? https : http;
  agents[url.protocol] ??= new scheme.Agent({ keepAlive: true, maxSockets: 32 });
  return new Promise((resolve, reject) => {
    const request = scheme.request(url, { method, headers, signal, agent: agents[url.protocol] }, (res) => {
      const status = res.statusCode ?? 0;
      resolve({
        status,
        ok: status >= 200 && status < 300,
        headers: {
          get(name) {
            const value = res.headers[name.toLowerCase()];
            return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
          },
        },
        body: res,
        async text() {
          res.setEncoding('utf8');
          let text = '';
          for await (const chunk of res) text += chunk;
          return text;
        },
        // Read to the end, so the connection goes back to the pool.
        discard() {
          res.resume();
        },
      });
    });
    request.on('error', reject);
    request.setTimeout(stallMs, () =>
      request.destroy(new Error(`the server sent nothing for ${Math.round(stallMs / 1000)} s (MLXK_PULL_TIMEOUT_SECS)`)),
    );
    request.end();
  });
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A cache write that failed: the path (relative) and the system's words. */
class WriteFailure extends Error {
  constructor(rel, cause) {
    super(`${rel}: ${cause.message}`);
    this.path = rel;
    this.reason = cause.code === 'EACCES' ? 'permission denied' : cause.code === 'ENOSPC' ? 'no space left' : cause.message;
  }
}

/**
 * The cache, for writing the names the core's plan gives: every folder on the way is checked to be
 * a real folder (never a link), so nothing a cache holds can steer a write outside it.
 */
class CacheWriter {
  constructor(root) {
    this.root = root;
    this.checked = new Set(['']);
    /** Blob path -> the transfer that writes it, in this pull. */
    this.blobs = new Map();
  }

  async open() {
    try {
      await fsp.mkdir(this.root, { recursive: true });
    } catch (error) {
      throw new WriteFailure('.', error);
    }
  }

  abs(rel) {
    return path.join(this.root, ...rel.split('/'));
  }

  /** Creates `rel` and its parents, refusing any component that is not a real folder. */
  async mkdirs(rel) {
    if (this.checked.has(rel)) return;
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    await this.mkdirs(parent);
    const abs = this.abs(rel);
    try {
      await fsp.mkdir(abs);
    } catch (error) {
      if (error.code !== 'EEXIST') throw new WriteFailure(rel, error);
    }
    const stat = await fsp.lstat(abs).catch((error) => {
      throw new WriteFailure(rel, error);
    });
    if (!stat.isDirectory()) throw new WriteFailure(rel, new Error('not a folder (a link or a file is in the way)'));
    this.checked.add(rel);
  }

  async parentOf(rel) {
    await this.mkdirs(rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');
    return this.abs(rel);
  }

  async exists(rel) {
    return fsp.lstat(this.abs(rel)).then(
      () => true,
      () => false,
    );
  }

  async readSmall(rel) {
    try {
      const stat = await fsp.lstat(this.abs(rel));
      return stat.isFile() && stat.size <= 1 << 20 ? await fsp.readFile(this.abs(rel), 'utf8') : null;
    } catch {
      return null;
    }
  }

  /** Replaces `rel` atomically (a temp file beside it, or in `.locks/` for a file at the root). */
  async writeAtomic(rel, content) {
    const target = await this.parentOf(rel);
    const folder = rel.includes('/') ? path.dirname(target) : await this.parentOf('.locks/x').then(path.dirname);
    const tmp = path.join(folder, `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await fsp.writeFile(tmp, content, { flag: 'wx' });
      await fsp.rename(tmp, target);
    } catch (error) {
      await fsp.rm(tmp, { force: true });
      throw new WriteFailure(rel, error);
    }
  }
}

/** Calls `onProgress({ bytes, totalBytes, files, totalFiles, file })` as bytes arrive and files finish. */
function pullProgress(onProgress, files) {
  const state = { bytes: 0, totalBytes: files.reduce((n, f) => n + f.size, 0), files: 0, totalFiles: files.length };
  const emit = (file) => {
    if (typeof onProgress === 'function') onProgress({ ...state, file });
  };
  return {
    bytes(n, file) {
      state.bytes += n;
      emit(file);
    },
    done(file, skipped) {
      state.bytes += skipped;
      state.files += 1;
      emit(file);
    },
  };
}

/** Runs `work` over `files`, `jobs` at a time in order; the first failure (by position) stops new files. */
async function fetchAll(files, jobs, work) {
  let next = 0;
  let failure = null;
  let failedAt = Infinity;
  let downloaded = 0;
  let bytes = 0;
  const lane = async () => {
    while (failure === null && next < files.length) {
      const i = next++;
      try {
        const received = await work(files[i]);
        if (received !== null) {
          downloaded += 1;
          bytes += received;
        }
      } catch (error) {
        if (i < failedAt) {
          failedAt = i;
          failure = error?.name === 'AbortError' ? { abort: error } : error instanceof FileFailure ? { outcome: error.outcome } : { abort: error };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, Math.max(files.length, 1)) }, lane));
  return { failure, downloaded, bytes };
}

/** A planned file that could not be fetched: its `file_failed` outcome. */
class FileFailure extends Error {
  constructor(file, failure) {
    super(`${file.path}: ${failure.kind}`);
    this.outcome = fileFailed(file, failure);
  }
}

/** The digest of `prefix` then the file at `abs`, in HASH_CHUNK reads. */
async function digestFile(abs, algo, prefix) {
  const hash = createHash(algo);
  if (prefix) hash.update(Buffer.from(prefix, 'latin1'));
  const handle = await fsp.open(abs, 'r');
  try {
    const buffer = Buffer.allocUnsafe(HASH_CHUNK);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, HASH_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
  }
  return hash;
}

/** Whether the snapshot already has `file`: its link to the right blob of the right size (or a plain file of that size). */
async function snapshotHas(cache, file) {
  try {
    const entry = await fsp.lstat(cache.abs(file.pointer));
    if (!entry.isSymbolicLink()) return entry.isFile() && entry.size === file.size;
    if ((await fsp.readlink(cache.abs(file.pointer))) !== file.link_target) return false;
    const blob = await fsp.stat(cache.abs(file.blob));
    return blob.isFile() && blob.size === file.size;
  } catch {
    return false;
  }
}

/** Makes the snapshot entry a relative link to the blob, replacing a file or link in the way. */
async function linkPointer(cache, file) {
  const abs = await cache.parentOf(file.pointer);
  try {
    const entry = await fsp.lstat(abs).catch(() => null);
    if (entry?.isDirectory()) throw new Error('a folder is where a file belongs');
    if (entry) await fsp.unlink(abs);
    await fsp.symlink(file.link_target, abs);
  } catch (error) {
    throw new FileFailure(file, { kind: 'write', path: file.pointer, reason: error.message });
  }
}

/**
 * Waits while another process holds the file's flock (huggingface_hub's, the CLI's). Node cannot
 * take an flock itself; it reads the lock table instead, and claims the partial by renaming it.
 */
async function waitForLock(cache, file, settings, signal) {
  const abs = await cache.parentOf(file.lock);
  await fsp.writeFile(abs, '', { flag: 'a' }).catch((error) => {
    throw new FileFailure(file, { kind: 'write', path: file.lock, reason: error.message });
  });
  const start = Date.now();
  for (;;) {
    const stat = await fsp.lstat(abs, { bigint: true });
    if (lockHeld(abs, stat) !== true) return;
    if (Date.now() - start >= settings.lockTimeoutSecs * 1000) {
      throw new FileFailure(file, { kind: 'lock_timeout', lock: file.lock, secs: settings.lockTimeoutSecs });
    }
    await sleep(100, signal);
  }
}

/**
 * Makes sure `file` is in the snapshot, downloading what is missing; resolves to the bytes received,
 * or null when nothing was downloaded. The partial is claimed by renaming `<etag>.incomplete` to a
 * name of this process's own, so two writers never share one; it is given back under its resumable
 * name when the transfer stops early, and deleted only when its content is proven wrong.
 */
async function fetchFile(hub, cache, file, settings, progress) {
  // Two files with the same content share one blob: one fetches it, the other links it after.
  const previous = cache.blobs.get(file.blob);
  const turn = (async () => {
    await previous?.catch(() => {});
    return fetchOne(hub, cache, file, settings, progress);
  })();
  cache.blobs.set(file.blob, turn);
  return turn;
}

async function fetchOne(hub, cache, file, settings, progress) {
  if (await snapshotHas(cache, file)) {
    progress.done(file.path, file.size);
    return null;
  }
  await cache.parentOf(file.blob);
  for (;;) {
    await waitForLock(cache, file, settings, hub.signal);
    // Another process may have finished it, or an earlier run left a blob without its link.
    const blob = await fsp.lstat(cache.abs(file.blob)).catch(() => null);
    if (blob?.isFile() && blob.size === file.size && (await digestFile(cache.abs(file.blob), file.algo, file.digest_prefix)).digest('hex') === file.expected) {
      await linkPointer(cache, file);
      progress.done(file.path, file.size);
      return null;
    }
    if (blob) await fsp.rm(cache.abs(file.blob), { force: true });
    const mine = cache.abs(file.blob) + ownPartialSuffix();
    const claimed = await claimPartial(cache, file, mine);
    // A writer that took the lock just before the claim may have the partial open: give it back.
    const lockStat = await fsp.lstat(cache.abs(file.lock), { bigint: true });
    if (lockHeld(cache.abs(file.lock), lockStat) === true) {
      if (claimed) await fsp.rename(mine, cache.abs(file.incomplete)).catch(() => {});
      continue;
    }
    const received = await transfer(hub, cache, file, mine, settings, progress);
    await fsp.rename(mine, cache.abs(file.blob)).catch((error) => {
      throw new FileFailure(file, { kind: 'write', path: file.blob, reason: error.message });
    });
    await linkPointer(cache, file);
    progress.done(file.path, 0);
    return received;
  }
}

/**
 * The name this process gives a partial it writes: `<etag>.<pid as 8 hex>.incomplete`, the shape
 * huggingface_hub 2.x gives its own (so every scanner counts it as an interrupted download), with
 * the pid in it so a later run can tell an abandoned one from a live one.
 */
function ownPartialSuffix() {
  return `.${process.pid.toString(16).padStart(8, '0')}.incomplete`;
}

/** Whether the process `pid` is alive (another Node writer works without an flock). */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/**
 * Takes the file's partial under this process's own name (the lock is free, so no flock holder
 * writes it): `<etag>.incomplete` (the CLI's and huggingface_hub 1.x's resumable name), else the
 * largest `<etag>.<8 hex>.incomplete` whose writer is gone (a killed run's). Whether one was taken.
 */
async function claimPartial(cache, file, mine) {
  const take = (from) =>
    fsp.rename(from, mine).then(
      () => true,
      (error) => (error.code === 'ENOENT' ? false : Promise.reject(error)),
    );
  if (await take(cache.abs(file.incomplete))) return true;
  const folder = path.dirname(cache.abs(file.blob));
  const etag = path.basename(cache.abs(file.blob));
  const abandoned = [];
  for (const name of await fsp.readdir(folder).catch(() => [])) {
    const m = /^(.+)\.([0-9a-f]{8})\.incomplete$/.exec(name);
    if (!m || m[1] !== etag || path.join(folder, name) === mine) continue;
    const pid = Number.parseInt(m[2], 16);
    if (pid !== process.pid && alive(pid)) continue;
    const stat = await fsp.lstat(path.join(folder, name)).catch(() => null);
    if (stat?.isFile()) abandoned.push({ name, size: stat.size });
  }
  abandoned.sort((a, b) => b.size - a.size);
  for (const { name } of abandoned) {
    if (await take(path.join(folder, name))) return true;
  }
  return false;
}

/** Bytes gathered from the network before one write to the partial. */
const WRITE_BATCH = 1 << 20;
/**
 * Files at least this large are hashed and written by a pool worker: on the main thread the
 * HTTP parsing and the digest, both about 1.5 GB/s, would take turns on one core.
 */
const WORKER_SINK_BYTES = 2 << 20;
/** Batches a worker may have queued before the download waits for it (bounds the memory held). */
const SINK_DEPTH = 8;

/**
 * Where a download's bytes go: the partial at `path`, hashed as they are written, in order.
 * `size` is what the partial held when opened (hashed already; a partial longer than the file
 * starts over). `write(chunks, bytes)` queues a batch, `restart()` empties the partial, `finish()`
 * closes it and returns the hex digest, `close()` closes it after a failure.
 */
async function openSink(path, file, settings, onBytes) {
  const size = (await fsp.lstat(path).catch(() => null))?.size ?? 0;
  const resume = size > 0 && size <= file.size;
  if (size > file.size) await fsp.truncate(path, 0);
  const worker = file.size >= WORKER_SINK_BYTES ? workerNow(settings.worker) : null;
  if (worker) return WorkerSink.open(worker, path, file, resume ? size : 0, onBytes);
  return InlineSink.open(path, file, resume ? size : 0, onBytes);
}

/** Hashes on this thread; one write in flight while the next batch arrives. */
class InlineSink {
  static async open(path, file, size, onBytes) {
    const handle = await fsp.open(path, 'a+');
    try {
      const hash = size > 0 ? await digestFile(path, file.algo, file.digest_prefix) : freshHash(file);
      return new InlineSink(handle, hash, file, size, onBytes);
    } catch (error) {
      await handle.close().catch(() => {});
      throw error;
    }
  }

  constructor(handle, hash, file, size, onBytes) {
    Object.assign(this, { handle, hash, file, size, onBytes, writing: null });
  }

  async write(chunks, bytes) {
    for (const chunk of chunks) this.hash.update(chunk);
    await this.writing;
    // Writes stay in order: one at a time on an append-mode handle.
    this.writing = this.handle.writev(chunks, null).then(() => this.onBytes(bytes));
    // A failed write is seen by the next call; until then its rejection is not unhandled.
    this.writing.catch(() => {});
  }

  async restart() {
    await this.writing;
    await this.handle.truncate(0);
    this.hash = freshHash(this.file);
  }

  async finish() {
    await this.writing;
    await this.handle.close();
    return this.hash.digest('hex');
  }

  async close() {
    await this.writing?.catch(() => {});
    await this.handle.close().catch(() => {});
  }
}

/** Hashes and writes in a pool worker; this thread only copies each batch into a buffer it hands over. */
class WorkerSink {
  static async open(worker, path, file, size, onBytes) {
    const sink = new WorkerSink(worker, file, size, onBytes);
    try {
      await sink.call({ op: 'open', path, algo: file.algo, prefix: file.digest_prefix, resume: size > 0 });
    } catch (error) {
      sink.release();
      throw error;
    }
    return sink;
  }

  constructor(worker, file, size, onBytes) {
    Object.assign(this, { worker, file, size, onBytes, id: pool.nextJob++, waiting: [], queued: [], failure: null, done: false });
    this.onMessage = (message) => {
      if (message.id !== this.id) return;
      const waiter = this.waiting.shift();
      if (message.failed) {
        const error = new Error(message.failed.message);
        Object.assign(error, { code: message.failed.code, errno: message.failed.errno, syscall: message.failed.syscall });
        this.fail(error, waiter);
        return;
      }
      if (message.ack) this.onBytes(message.ack);
      waiter?.resolve(message);
    };
    this.onGone = (cause) => {
      const error = new Error(`mlx-knife: the worker writing ${file.path} stopped (${cause?.message ?? `exit ${cause}`})`);
      error.code = 'InternalError';
      this.fail(error, this.waiting.shift());
      this.release(false);
    };
    worker.on('message', this.onMessage);
    worker.on('error', this.onGone);
    worker.on('exit', this.onGone);
    worker.ref();
  }

  fail(error, waiter) {
    this.failure ??= error;
    waiter?.reject(error);
    for (const rest of this.waiting.splice(0)) rest.reject(error);
  }

  call(message, transfer) {
    if (this.failure) return Promise.reject(this.failure);
    const reply = new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.worker.postMessage({ id: this.id, sink: message }, transfer);
    return reply;
  }

  async write(chunks, bytes) {
    // A buffer of its own (never a slice of a pooled one) can be handed over without a copy back.
    const buffer = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of chunks) {
      buffer.set(chunk, at);
      at += chunk.length;
    }
    const acked = this.call({ op: 'data', buffer: buffer.buffer }, [buffer.buffer]);
    acked.catch(() => {});
    this.queued.push(acked);
    if (this.queued.length >= SINK_DEPTH) await this.queued.shift();
  }

  async drain() {
    for (const acked of this.queued.splice(0)) await acked;
  }

  async restart() {
    await this.drain();
    await this.call({ op: 'restart' });
  }

  async finish() {
    await this.drain();
    const { digest } = await this.call({ op: 'close', digest: true });
    this.release();
    return digest;
  }

  async close() {
    if (this.done) return;
    await this.drain().catch(() => {});
    await this.call({ op: 'close', digest: false }).catch(() => {});
    this.release();
  }

  release(keep = !this.failure) {
    if (this.done) return;
    this.done = true;
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onGone);
    this.worker.off('exit', this.onGone);
    if (keep) releaseWorker(this.worker);
    else discardWorker(this.worker);
  }
}

function freshHash(file) {
  return createHash(file.algo).update(Buffer.from(file.digest_prefix, 'latin1'));
}

/** Streams `file` into the partial at `mine` until it holds exactly the listed bytes; the bytes received. */
async function transfer(hub, cache, file, mine, settings, progress) {
  const sink = await openSink(mine, file, settings, (bytes) => progress.bytes(bytes, file.path));
  let keep = true;
  try {
    // Bytes handed to the sink: what the next range request asks after.
    let have = sink.size;
    let received = 0;
    let failures = 0;
    let furthest = have;
    let lastError = '';
    while (have < file.size) {
      let response;
      try {
        response = await hub.get(file.url, have > 0 ? have : undefined);
      } catch (error) {
        if (error instanceof HubFailure) throw new FileFailure(file, { kind: 'hub', reply: error.reply });
        throw error;
      }
      const range = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      const startsAt = response.status === 206 ? (range ? Number(range[1]) : null) : response.status === 416 ? null : 0;
      if (startsAt !== have) {
        // The server ignored `Range`, or answered another range: start over.
        await sink.restart();
        have = 0;
        if (response.status !== 200) {
          response.discard();
          failures += 1;
          lastError = `HTTP ${response.status} to a range request`;
          if (failures >= settings.attempts) break;
          continue;
        }
      }
      // Chunks go to the sink WRITE_BATCH bytes at a time: one write per network chunk (often
      // 16-64 kB) costs more than the hashing.
      let pending = [];
      let pendingBytes = 0;
      const send = async () => {
        if (pendingBytes === 0) return;
        const batch = pending;
        const bytes = pendingBytes;
        pending = [];
        pendingBytes = 0;
        have += bytes;
        received += bytes;
        await sink.write(batch, bytes);
      };
      try {
        for await (const chunk of response.body) {
          if (have + pendingBytes + chunk.length > file.size) {
            keep = false;
            throw new FileFailure(file, { kind: 'too_long' });
          }
          pending.push(chunk);
          pendingBytes += chunk.length;
          if (pendingBytes >= WRITE_BATCH) await send();
        }
        await send();
      } catch (error) {
        if (error instanceof FileFailure || error?.name === 'AbortError' || hub.signal?.aborted) throw error;
        if (sink.failure) throw sink.failure;
        // What arrived before the connection dropped goes to disk too.
        await send();
        lastError = String(error?.cause?.message ?? error?.message ?? error);
      }
      if (have < file.size) {
        if (have > furthest) {
          furthest = have;
          failures = 0;
        }
        failures += 1;
        if (!lastError) lastError = 'the connection closed early';
        if (failures >= settings.attempts) break;
        await sleep(Math.min(500 * 2 ** Math.min(failures - 1, 4), 8000), hub.signal);
      }
    }
    if (have < file.size) {
      await sink.close();
      throw new FileFailure(file, { kind: 'incomplete', reason: lastError, have });
    }
    const actual = await sink.finish();
    if (actual !== file.expected) {
      keep = false;
      throw new FileFailure(file, { kind: 'checksum', actual });
    }
    return received;
  } catch (error) {
    await sink.close();
    if (keep) await fsp.rename(mine, cache.abs(file.incomplete)).catch(() => {});
    else await fsp.rm(mine, { force: true });
    throw error;
  }
}

/** `mlxk --version --json` */
export async function version(options) {
  options = commandOptions('version', options);
  return invoke('--version', [], [], options);
}

/**
 * The Hugging Face hub cache directory, resolved as huggingface_hub does:
 * HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub,
 * ~/.cache/huggingface/hub. Empty values count as unset; a leading `~` is expanded.
 */
export function resolveCacheDir(env = process.env) {
  return resolveCacheLocation(env).cacheDir;
}

/** resolveCacheDir(), and which setting named the folder (core-wasm's `location::Origin`). */
function resolveCacheLocation(env) {
  const get = (name) => (typeof env[name] === 'string' && env[name] !== '' ? env[name] : undefined);
  const home = get('HOME') ?? os.homedir();
  const expand = (p) =>
    p === '~' ? home : p.startsWith('~/') || p.startsWith(`~${path.sep}`) ? path.join(home, p.slice(2)) : p;

  for (const [name, origin] of [
    ['HF_HUB_CACHE', 'HF_HUB_CACHE'],
    ['HUGGINGFACE_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE'],
  ]) {
    const value = get(name);
    if (value !== undefined) return { cacheDir: path.resolve(expand(value)), origin };
  }
  const hfHome = get('HF_HOME') ?? path.join(get('XDG_CACHE_HOME') ?? path.join('~', '.cache'), 'huggingface');
  return { cacheDir: path.resolve(expand(hfHome), 'hub'), origin: 'default' };
}

/** The cache for these (checked) options: `cacheDir` names it explicitly, like `--cache-dir`. */
function cacheLocationFrom(options) {
  if (options.cacheDir === undefined) return resolveCacheLocation(process.env);
  return { cacheDir: path.resolve(options.cacheDir), origin: '--cache-dir' };
}

/**
 * The folder a workspace command names, as the CLI mounts it: the command's first positional
 * argument when it is an explicit path (`./x`, `../x`, `/x`, `.`, `..`: core-wasm's
 * `resolve::is_explicit_path`), resolved with its links; for `list` of a path that is not a
 * folder, the folder holding it, with the last component as a name prefix.
 */
function workspaceMount(argv) {
  let positional = null;
  let afterDashes = false;
  for (const arg of argv.slice(1)) {
    if (!afterDashes && arg === '--') {
      afterDashes = true;
      continue;
    }
    if (!afterDashes && arg.startsWith('-') && arg.length > 1) continue;
    positional = arg.trim();
    break;
  }
  const explicit = (p) => p === '.' || p === '..' || p.startsWith('./') || p.startsWith('../') || p.startsWith('/');
  if (positional === null || !explicit(positional)) return null;
  const folder = (p) => {
    try {
      const real = realpathSync(p);
      return statSync(real).isDirectory() ? real : null;
    } catch {
      return null;
    }
  };
  const itself = folder(positional);
  if (itself) return { root: itself };
  if (argv[0] !== 'list') return null;
  const prefix = path.basename(positional);
  const parent = folder(path.dirname(positional) || '.');
  return parent && prefix !== '.' && prefix !== '..' ? { root: parent, prefix } : null;
}

/**
 * The workspace home: `workspaceHome`, else `MLXK_WORKSPACE_HOME`; `~` expanded, links resolved;
 * `null` unless it is a folder (the CLI ignores anything else too).
 */
function workspaceHomeFrom(options) {
  const env = process.env;
  const value = options.workspaceHome ?? env.MLXK_WORKSPACE_HOME;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const home = typeof env.HOME === 'string' && env.HOME !== '' ? env.HOME : os.homedir();
  const expanded = value === '~' ? home : value.startsWith('~/') ? path.join(home, value.slice(2)) : value;
  try {
    const real = realpathSync(path.resolve(expanded));
    return statSync(real).isDirectory() ? real : null;
  } catch {
    return null;
  }
}

/** `null` for a usable folder (links followed, as the CLI does), else why not. */
function cacheState(dir) {
  try {
    return statSync(dir).isDirectory() ? null : 'not-a-directory';
  } catch (e) {
    if (e && e.code === 'ENOTDIR') return 'not-a-directory';
    try {
      return statSync(path.dirname(dir)).isDirectory() ? 'missing' : 'missing-parent';
    } catch {
      return 'missing-parent';
    }
  }
}

function optional(value) {
  return value === undefined ? [] : [value];
}

/**
 * Runs `<command> [positionals] [flags] --json` and parses the envelope. A positional that starts
 * with `-` goes after `--`, at the very end, so it is never read as a flag.
 */
async function invoke(command, positionals, flags, options) {
  const argv = positionals.some((value) => value.startsWith('-'))
    ? [command, ...flags, '--json', '--', ...positionals]
    : [command, ...positionals, ...flags, '--json'];
  return envelopeOf(await execute(argv, options), options);
}

/** The envelope the core printed (thrown under `throwOnError` when it is an error). */
function envelopeOf({ exitCode, stdout, stderr }, options) {
  let envelope;
  try {
    envelope = JSON.parse(stdout.toString('utf8'));
  } catch {
    envelope = undefined;
  }
  if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) {
    const stderrText = stderr.toString('utf8').trim();
    const error = new Error(
      `mlx-knife: the core did not print a JSON envelope (exit code ${exitCode})` +
        (stderrText ? `: ${stderrText}` : ''),
    );
    error.code = 'InternalError';
    error.exitCode = exitCode;
    error.stdout = stdout;
    error.stderr = stderr;
    throw error;
  }
  if (options.throwOnError && envelope.status === 'error') {
    const info = envelope.error ?? {};
    const error = new Error(info.message ?? `mlx-knife: ${envelope.command ?? 'command'} failed`);
    error.code = info.type ?? 'InternalError';
    error.data = envelope;
    throw error;
  }
  return envelope;
}
