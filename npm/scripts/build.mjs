// Builds the package contents that are not hand-written:
//   index.cjs   generated from index.mjs (CommonJS twin, same code)
//   index.d.cts copy of index.d.ts, so TypeScript treats the `require` entry as CommonJS
//   core.wasm   copied from ../target/wasm32-wasip1/release/core-wasm.wasm
//   help.json   the CLI's --help texts, for the `mlx-knife` bin (with --help-from, after the CLI is built)
//
// Usage: node scripts/build.mjs          write all three
//        node scripts/build.mjs --check  write nothing; fail if a generated file is stale or core.wasm is missing
//        node scripts/build.mjs --help-from ../target/release/mlxk   write help.json only

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
export const ESM_ENTRY = path.join(pkgDir, 'index.mjs');
export const CJS_ENTRY = path.join(pkgDir, 'index.cjs');
export const ESM_TYPES = path.join(pkgDir, 'index.d.ts');
export const CJS_TYPES = path.join(pkgDir, 'index.d.cts');
export const WASM_SOURCE = path.join(pkgDir, '..', 'target', 'wasm32-wasip1', 'release', 'core-wasm.wasm');
export const WASM_TARGET = path.join(pkgDir, 'core.wasm');
export const HELP_TARGET = path.join(pkgDir, 'help.json');

/** The CLI's commands whose `--help` the bin prints (`''` is the tool's own). */
const HELP_TOPICS = ['', 'list', 'health', 'show', 'pull', 'rm', 'prune', 'clone', 'convert', 'run', 'serve'];

/** Writes help.json from the CLI at `mlxk`: the bin prints the very same bytes. */
function writeHelp(mlxk) {
  const texts = {};
  for (const topic of HELP_TOPICS) {
    const args = topic ? [topic, '--help'] : ['--help'];
    texts[topic] = execFileSync(mlxk, args, { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  }
  writeFileSync(HELP_TARGET, `${JSON.stringify(texts, null, 2)}\n`);
  console.log(`wrote ${HELP_TARGET}`);
}

/** Replacements for the lines of index.mjs marked `// esm-only`, keyed by the name they declare. */
const ESM_ONLY = {
  WASM_LOCATION: "const WASM_LOCATION = path.join(__dirname, 'core.wasm');",
  loadBuiltin: 'const loadBuiltin = require;',
  WORKER_LOCATION: "const WORKER_LOCATION = path.join(__dirname, 'worker.mjs');",
};

/** Imported names that only the `// esm-only` lines use; CommonJS has `require` already. */
const ESM_ONLY_IMPORTS = new Set(['createRequire']);

/** Turns index.mjs into index.cjs. Throws on any syntax it does not know how to translate. */
export function toCommonJs(source) {
  const lines = source.split('\n');
  // The leading comment block: keep its first line (what the file is), drop the notes about editing it.
  const headerEnd = lines.findIndex((line) => !line.startsWith('//'));
  const out = [
    lines[0],
    '// Generated from index.mjs by scripts/build.mjs. Edit index.mjs, then run `npm run build`.',
    '',
    "'use strict';",
  ];
  const exported = [];
  lines.forEach((line, i) => {
    const where = `index.mjs:${i + 1}`;
    let m;
    if (i < headerEnd || /^\s*(\/\/|\/\*|\*)/.test(line)) {
      if (i >= headerEnd) out.push(line);
    } else if (line.endsWith('// esm-only')) {
      m = /^const (\w+) = /.exec(line);
      if (!m || !(m[1] in ESM_ONLY)) throw new Error(`${where}: unknown esm-only line: ${line}`);
      out.push(ESM_ONLY[m[1]]);
    } else if ((m = /^import \{ ([\w, ]+) \} from '([\w:/]+)';$/.exec(line))) {
      const names = m[1].split(', ').filter((name) => !ESM_ONLY_IMPORTS.has(name));
      if (names.length) out.push(`const { ${names.join(', ')} } = require('${m[2]}');`);
    } else if ((m = /^import (\w+) from '([\w:/]+)';$/.exec(line))) {
      out.push(`const ${m[1]} = require('${m[2]}');`);
    } else if ((m = /^export ((?:async )?function (\w+)\b.*)$/.exec(line))) {
      exported.push(m[2]);
      out.push(m[1]);
    } else if (/^\s*(import|export)\b|import\.meta|\bimport\(/.test(line)) {
      throw new Error(`${where}: cannot translate to CommonJS: ${line}`);
    } else {
      out.push(line);
    }
  });
  if (out[out.length - 1] === '') out.pop();
  out.push('', `module.exports = { ${exported.join(', ')} };`, '');
  return out.join('\n');
}

function main(args) {
  const from = args.indexOf('--help-from');
  if (from !== -1) {
    writeHelp(path.resolve(args[from + 1]));
    return;
  }
  const check = args.includes('--check');
  const generated = [
    [CJS_ENTRY, toCommonJs(readFileSync(ESM_ENTRY, 'utf8'))],
    [CJS_TYPES, readFileSync(ESM_TYPES, 'utf8')],
  ];
  const problems = [];

  if (check) {
    for (const [file, content] of generated) {
      const current = existsSync(file) ? readFileSync(file, 'utf8') : null;
      if (current !== content) problems.push(`${path.basename(file)} is out of date (run \`npm run build\`)`);
    }
    if (!existsSync(WASM_TARGET)) problems.push('core.wasm is missing (run `npm run build`)');
    if (!existsSync(HELP_TARGET)) problems.push('help.json is missing (run `cargo xtask build`)');
  } else {
    for (const [file, content] of generated) {
      writeFileSync(file, content);
      console.log(`wrote ${file}`);
    }
    if (existsSync(WASM_SOURCE)) {
      copyFileSync(WASM_SOURCE, WASM_TARGET);
      console.log(`copied ${WASM_SOURCE} -> ${WASM_TARGET}`);
    } else {
      problems.push(
        `${WASM_SOURCE} does not exist; build it first with\n` +
          '  cargo build --release -p core-wasm --target wasm32-wasip1',
      );
    }
  }
  for (const problem of problems) console.error(`error: ${problem}`);
  process.exitCode = problems.length ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2));
}
