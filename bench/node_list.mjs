// One listing for bench/run.sh, from Node: `node bench/node_list.mjs ours|hfjs CACHE`.
//   ours  the npm package's list({ all: true }) (this repo's npm/index.mjs)
//   hfjs  @huggingface/hub's scanCacheDir (installed by the bench scripts under bench/.node)
// Exits non-zero when the listing fails.
const [which, cacheDir] = process.argv.slice(2);
if (which === 'ours') {
  const { list } = await import('../npm/index.mjs');
  const envelope = await list({ all: true, cacheDir });
  if (envelope.status !== 'success') {
    console.error(JSON.stringify(envelope));
    process.exit(1);
  }
} else if (which === 'hfjs') {
  const { scanCacheDir } = await import(new URL('./.node/node_modules/@huggingface/hub/dist/index.mjs', import.meta.url));
  await scanCacheDir(cacheDir);
} else {
  console.error('usage: node bench/node_list.mjs ours|hfjs CACHE');
  process.exit(2);
}
