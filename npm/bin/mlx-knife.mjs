#!/usr/bin/env node
// `npx mlx-knife <args>` (also installed as `mlxk`): the package's core with the CLI's arguments,
// cache resolution (HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME, XDG_CACHE_HOME, `--cache-dir`),
// output bytes and exit codes. `--help` prints the CLI's own help (help.json, generated from the
// CLI by the build). `pull` downloads as the CLI does (HF_ENDPOINT, HF_TOKEN, the same bytes out);
// the commands that need the CLI's engine or a second folder (clone, convert, run, serve) answer
// with an error that says so, as `run()` does.

import { readFileSync } from 'node:fs';
import { run } from '../index.mjs';

const HELP = new URL('../help.json', import.meta.url);

/** Splits off `--cache-dir DIR` / `--cache-dir=DIR` (anywhere before `--`, as the CLI's global option). */
function takeCacheDir(args) {
  const rest = [];
  let cacheDir;
  let missing = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      rest.push(...args.slice(i));
      break;
    }
    if (arg === '--cache-dir') {
      if (i + 1 >= args.length) missing = true;
      else cacheDir = args[++i];
    } else if (arg.startsWith('--cache-dir=')) {
      cacheDir = arg.slice('--cache-dir='.length);
    } else {
      rest.push(arg);
    }
  }
  return { rest, cacheDir, missing };
}

/** The command `--help` asks about (`''` for the tool itself), or null without `--help`. */
function helpTopic(args) {
  const end = args.indexOf('--');
  const before = end === -1 ? args : args.slice(0, end);
  if (!before.includes('--help') && !before.includes('-h')) return null;
  return before.find((arg) => !arg.startsWith('-')) ?? '';
}

async function main() {
  const { rest, cacheDir, missing } = takeCacheDir(process.argv.slice(2));
  // `help [command]` is `[command] --help`, as on the CLI.
  const topic = rest[0] === 'help' ? (rest[1] ?? '') : helpTopic(rest);
  if (topic !== null) {
    const texts = JSON.parse(readFileSync(HELP, 'utf8'));
    process.stdout.write(texts[topic] ?? texts['']);
    return 0;
  }
  if (missing) {
    // The CLI's wording for a global option without its value, in both forms.
    const message = "a value is required for '--cache-dir <DIR>' but none was supplied";
    if (rest.includes('--json')) {
      const envelope = { status: 'error', command: null, data: null, error: { type: 'CommandError', message } };
      process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
    } else {
      process.stderr.write(`error: ${message}\n\nFor more information, try '--help'.\n`);
    }
    return 2;
  }
  // A list table is fitted to a terminal (COLUMNS first, as the CLI reads it); a pipe gets it whole.
  if (rest[0] === 'list' && process.stdout.isTTY && !rest.includes('--json')) {
    const columns = Number.parseInt(process.env.COLUMNS ?? '', 10) || process.stdout.columns;
    if (columns > 0) rest.splice(1, 0, `--term-width=${columns}`);
  }
  const { exitCode, stdout, stderr } = await run(rest, cacheDir === undefined ? {} : { cacheDir });
  process.stderr.write(stderr);
  await new Promise((resolve) => process.stdout.write(stdout, resolve));
  return exitCode;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`mlxk: ${error.message}\n`);
    process.exitCode = 1;
  },
);
