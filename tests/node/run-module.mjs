// Runs arbitrary WASI modules with the npm package's `mlxk_host_v1` imports, the way the
// package runs core.wasm: reads [{wasm, cacheDir}] on stdin, prints the exit codes.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import { createHostImports } from '../../npm/index.mjs';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const codes = [];
for (const { wasm, cacheDir } of JSON.parse(input)) {
  const module = new WebAssembly.Module(readFileSync(wasm));
  const wasi = new WASI({ version: 'preview1', args: ['probe'], env: {}, preopens: { '/cache': cacheDir }, returnOnExit: true });
  const imports = {};
  for (const [name, fn] of Object.entries(wasi.wasiImport)) imports[name] = (...args) => fn(...args);
  let instance = null;
  const host = createHostImports(cacheDir, () => instance.exports.memory);
  instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: imports, mlxk_host_v1: host });
  codes.push(wasi.start(instance) ?? 0);
}
process.stdout.write(JSON.stringify(codes));
