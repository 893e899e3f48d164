// Compile-only check of index.d.ts as an ESM consumer sees it (`npm run typecheck`).
import { health, list, pull, resolveCacheDir, rm, run, show, version } from 'mlx-knife';
import type { Envelope, InvalidOptionError, ListData, MlxKnifeError, ModelObject, PullData, PullProgress } from 'mlx-knife';

async function main(): Promise<void> {
  const listed: Envelope<ListData> = await list({ pattern: 'llama', all: true, cacheDir: resolveCacheDir() });
  if (listed.status === 'success') {
    const first: ModelObject | undefined = listed.data.models[0];
    const size: number = first?.size_bytes ?? 0;
    const hash: string | null = first?.hash ?? null;
    void size;
    void hash;
  } else {
    const type: string = listed.error.type;
    const matches: string[] | undefined = listed.error.matches;
    void type;
    void matches;
  }

  const checked = await health({ model: 'org/name@abc', throwOnError: true });
  if (checked.status === 'success') checked.data.summary.unhealthy_count.toFixed();

  const shown = await show({ model: 'org/name', files: true });
  if (shown.status === 'success') shown.data.files?.map((f) => f.name.length + f.size.length);

  const v = await version();
  if (v.status === 'success') v.data.cli_version.toUpperCase();

  const raw = await run(['list', '--json'], { cacheDir: '/tmp/hub', timeoutMs: 1000 });
  await list({ signal: AbortSignal.timeout(500), timeoutMs: 2000 });
  // @ts-expect-error a signal is an AbortSignal
  await list({ signal: true });
  // @ts-expect-error timeoutMs is a number
  await health({ timeoutMs: '5' });
  if (v.status === 'success' && v.data.engine !== null) v.data.engine.version.toUpperCase();
  raw.stdout.toString('utf8');
  raw.exitCode.toFixed();

  resolveCacheDir({ HF_HOME: '~/hf' }).endsWith('hub');

  try {
    await show({ model: 'x', throwOnError: true });
  } catch (e) {
    const error = e as MlxKnifeError;
    error.code.toLowerCase();
    error.data?.error.message;
  }

  // @ts-expect-error `model` is required by show()
  await show({});

  // Misspelt and mistyped options are compile errors, not silent no-ops.
  // @ts-expect-error the option is `dryRun`
  await rm({ model: 'org/name', dry_run: true });
  // @ts-expect-error the option is `dryRun`
  await rm({ model: 'org/name', dryrun: true });
  // @ts-expect-error `all` is a boolean
  await list({ all: 'yes' });
  // @ts-expect-error `cacheDir` is a string
  await list({ cacheDir: 42 });
  // @ts-expect-error options are an object, not the model name
  await show('org/name');
  // @ts-expect-error `version` takes only the common options
  await version({ deep: true });
  // @ts-expect-error run() has no `throwOnError`
  await run(['list'], { throwOnError: true });
  await rm({ model: 'org/name', dryRun: true, force: false });

  const pulled: Envelope<PullData> = await pull({
    model: 'org/name@main',
    endpoint: 'http://127.0.0.1:1',
    token: 'hf_x',
    forceResume: false,
    onProgress: (p: PullProgress) => void (p.bytes / p.totalBytes),
    signal: AbortSignal.timeout(1000),
  });
  if (pulled.status === 'success') void pulled.data.files_downloaded;
  // @ts-expect-error pull() needs a model
  await pull({});
  await list({ wasm: new Uint8Array(0), worker: new URL('file:///x/worker.mjs') });
  await list({ wasm: '/x/core.wasm' });
  // @ts-expect-error `wasm` is no number
  await list({ wasm: 1 });

  try {
    await rm({ model: 'org/name' });
  } catch (e) {
    const error = e as InvalidOptionError;
    const code: 'ERR_MLXK_INVALID_OPTION' = error.code;
    void code;
    void error.option;
  }
}
void main;
