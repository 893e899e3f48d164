// Tiny hand-assembled WASI preview1 commands that stand in for core.wasm, to test the wrapper's
// side of the ABI (argv, preopens, output capture, exit codes, crashes) independently of the core.
// `packageWithFakeCore(bytes)` copies index.mjs/index.cjs next to such a module in a temp dir.

import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { CJS_ENTRY, ESM_ENTRY } from './cache-fixture.mjs';

const I32 = 0x7f;
const uleb = (n) => {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
};
const sleb = (n) => {
  const out = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(byte & 0x40)) || (n === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
};
const name = (s) => [...uleb(s.length), ...Buffer.from(s)];
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, body) => [id, ...uleb(body.length), ...body];

// Instructions.
const c = (n) => [0x41, ...sleb(n)]; // i32.const
const call = (f) => [0x10, ...uleb(f)];
const drop = [0x1a];
const load = [0x28, 2, 0]; // i32.load align=4 offset=0
const store = [0x36, 2, 0]; // i32.store
const add = [0x6a];
const shl = [0x74];
const ifThen = (...body) => [0x04, 0x40, ...body.flat(Infinity), 0x0b];
const eqz = [0x45];
const unreachable = [0x00];

const IMPORT_TYPES = {
  fd_write: 0,
  proc_exit: 1,
  args_sizes_get: 2,
  args_get: 2,
  environ_sizes_get: 2,
  fd_prestat_get: 2,
  fd_prestat_dir_name: 4,
};
const IMPORTS = Object.keys(IMPORT_TYPES);
const [FD_WRITE, PROC_EXIT, ARGS_SIZES_GET, ARGS_GET, ENVIRON_SIZES_GET, PRESTAT_GET, PRESTAT_DIR_NAME] = IMPORTS.map(
  (_, i) => i,
);

/** A module whose `_start` runs `code`, with `data` placed at address 0. */
function assemble(code, data = Buffer.alloc(0)) {
  const types = [
    [0x60, 4, I32, I32, I32, I32, 1, I32], // 0: (i32 i32 i32 i32) -> i32
    [0x60, 1, I32, 0], // 1: (i32) -> ()
    [0x60, 2, I32, I32, 1, I32], // 2: (i32 i32) -> i32
    [0x60, 0, 0], // 3: () -> ()
    [0x60, 3, I32, I32, I32, 1, I32], // 4: (i32 i32 i32) -> i32
  ];
  const imports = IMPORTS.map((f) => [...name('wasi_snapshot_preview1'), ...name(f), 0x00, IMPORT_TYPES[f]]);
  const start = IMPORTS.length;
  const body = [0x00, ...code.flat(Infinity), 0x0b]; // no locals
  return Buffer.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(2, vec(imports)),
    ...section(3, vec([[3]])),
    ...section(5, vec([[0x00, 1]])),
    ...section(7, vec([[...name('memory'), 0x02, 0], [...name('_start'), 0x00, ...uleb(start)]])),
    ...section(10, vec([[...uleb(body.length), ...body]])),
    ...section(11, vec([[0x00, ...c(0), 0x0b, ...uleb(data.length), ...data]])),
  ]);
}

/** fd_write(fd, one iovec {ptr, len at address lenAddr}); the iovec lives at 8, nwritten at 16. */
const writeOut = (fd, ptr, lenAddr) => [
  c(8), c(ptr), store,
  c(12), c(lenAddr), load, store,
  c(fd), c(8), c(1), c(16), call(FD_WRITE), drop,
];

/**
 * Prints its argv (NUL-separated, as args_get lays it out) on stdout, `stderr` on fd 2,
 * then exits with `exitCode`.
 */
export function echoArgsCore({ stderr = '', exitCode = 0 } = {}) {
  // Memory: 0 argc, 4 argv buffer size, 8 iovec, 16 nwritten, 20 stderr length, 64 stderr text,
  // 512 argv pointers, 1024 argv strings.
  const text = Buffer.from(stderr);
  const data = Buffer.alloc(64 + text.length);
  data.writeUInt32LE(text.length, 20);
  text.copy(data, 64);
  return assemble(
    [
      c(0), c(4), call(ARGS_SIZES_GET), drop,
      c(512), c(1024), call(ARGS_GET), drop,
      writeOut(1, 1024, 4),
      writeOut(2, 64, 20),
      c(exitCode), call(PROC_EXIT),
    ],
    data,
  );
}

/**
 * Reports its preopens: prints the name of fd 3 if it is a preopen, and exits with
 * `errno(fd_prestat_get(3)) + (errno(fd_prestat_get(4)) << 8)` (0 = preopen, 8 = EBADF).
 */
export function preopensCore() {
  // Memory: 0 prestat {tag, name_len at 4}, 8 iovec, 16 nwritten, 100 errno(3), 104 errno(4), 1024 name.
  return assemble([
    c(104), c(4), c(0), call(PRESTAT_GET), store,
    c(100), c(3), c(0), call(PRESTAT_GET), store,
    c(100), load, eqz,
    ifThen(c(3), c(1024), c(4), load, call(PRESTAT_DIR_NAME), drop, writeOut(1, 1024, 4)),
    c(100), load, c(104), load, c(8), shl, add, call(PROC_EXIT),
  ]);
}

/** Exits with the number of environment variables it was given. */
export function environCountCore() {
  return assemble([c(0), c(4), call(ENVIRON_SIZES_GET), drop, c(0), load, call(PROC_EXIT)]);
}

/** Writes `stderr` on fd 2, then traps (what a Rust panic does). */
export function trappingCore(stderr = 'thread main panicked') {
  const text = Buffer.from(stderr);
  const data = Buffer.alloc(64 + text.length);
  data.writeUInt32LE(text.length, 20);
  text.copy(data, 64);
  return assemble([writeOut(2, 64, 20), unreachable], data);
}

/** A temp copy of the package (index.mjs, index.cjs) with `wasm` as its core.wasm. */
export function packageWithFakeCore(wasm) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlxk-fake-core-'));
  copyFileSync(ESM_ENTRY, path.join(dir, 'index.mjs'));
  copyFileSync(CJS_ENTRY, path.join(dir, 'index.cjs'));
  copyFileSync(path.join(path.dirname(ESM_ENTRY), 'worker.mjs'), path.join(dir, 'worker.mjs'));
  writeFileSync(path.join(dir, 'core.wasm'), wasm);
  return { dir, esm: path.join(dir, 'index.mjs'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
