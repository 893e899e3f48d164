// Compile-only check of index.d.ts as a CommonJS consumer sees it (`npm run typecheck`).
import mlxk = require('mlx-knife');

async function main(): Promise<void> {
  const listed = await mlxk.list({ cacheDir: mlxk.resolveCacheDir(process.env) });
  if (listed.status === 'success') listed.data.count.toFixed();
}
void main;
