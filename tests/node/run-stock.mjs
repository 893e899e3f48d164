// Runs a WASI module the way a stock runtime would: bare node:wasi, no other imports.
// Usage: node run-stock.mjs <module.wasm> <cacheDir> [args...]; exits with the module's code.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';

const [wasmPath, cacheDir, ...args] = process.argv.slice(2);
const wasi = new WASI({
  version: 'preview1',
  args: ['mlxk', ...args],
  env: {},
  preopens: { '/cache': cacheDir },
  returnOnExit: true,
});
const imports = {};
for (const [name, fn] of Object.entries(wasi.wasiImport)) imports[name] = (...a) => fn(...a);
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmPath)), {
  wasi_snapshot_preview1: imports,
});
process.exitCode = wasi.start(instance) ?? 0;
