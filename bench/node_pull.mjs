// One download for bench/pull.sh, from Node: `node bench/node_pull.mjs ours|hfjs REPO CACHE HUB`.
//   ours  the npm package's pull() (this repo's npm/index.mjs)
//   hfjs  @huggingface/hub's snapshotDownload (installed by pull.sh under bench/.node)
// Exits non-zero when the download fails.
const [which, repo, cacheDir, endpoint] = process.argv.slice(2);
if (which === 'ours') {
  const { pull } = await import('../npm/index.mjs');
  const envelope = await pull({ model: repo, cacheDir, endpoint });
  if (envelope.status !== 'success' || envelope.data.download_status !== 'success') {
    console.error(JSON.stringify(envelope));
    process.exit(1);
  }
} else if (which === 'hfjs') {
  const { snapshotDownload } = await import(new URL('./.node/node_modules/@huggingface/hub/dist/index.mjs', import.meta.url));
  // It logs each file it fetches on the console: keep the measurement about the download.
  console.log = console.debug = console.info = () => {};
  await snapshotDownload({ repo: { type: 'model', name: repo }, cacheDir, hubUrl: endpoint });
} else {
  console.error('usage: node bench/node_pull.mjs ours|hfjs REPO CACHE HUB');
  process.exit(2);
}
