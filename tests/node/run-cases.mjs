// Runs parity cases through the npm package: reads [{argv, cacheDir}] on stdin and prints
// [{code, stdout, stderr}] (bytes as hex) on stdout, all in one Node process.
import { run } from '../../npm/index.mjs';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const cases = JSON.parse(input);
const results = [];
for (const { argv, cacheDir } of cases) {
  const r = await run(argv, { cacheDir });
  results.push({
    code: r.exitCode,
    stdout: Buffer.from(r.stdout).toString('hex'),
    stderr: Buffer.from(r.stderr).toString('hex'),
  });
}
process.stdout.write(JSON.stringify(results));
