/// <reference types="node" />
// Types for mlx-knife. The envelopes are the same JSON the `mlxk ... --json` CLI prints.

/** Names of the commands this package runs. */
export type CommandName = 'list' | 'health' | 'show' | 'pull' | 'rm' | 'prune' | 'version';

/** The `error` object of an error envelope. */
export interface ErrorInfo {
  /** Stable error type, e.g. `"model_not_found"`, `"ambiguous_match"`, `"CommandError"`, `"InternalError"`. */
  type: string;
  /** Human-readable message, e.g. `"No model found matching 'foo'"`. */
  message: string;
  /** For `ambiguous_match`: the model names that matched, sorted. */
  matches?: string[];
  /** For `model_not_found` of an `@rev` that matches nothing: the first 8 characters of each cached snapshot, sorted. */
  available_hashes?: string[];
  /** With `available_hashes`: the branch and tag names (from `refs/`) whose snapshot is cached, sorted. */
  available_refs?: string[];
}

/** A successful envelope: `data` holds the command's payload and `error` is `null`. */
export interface SuccessEnvelope<T> {
  status: 'success';
  /** The command that produced this envelope. */
  command: CommandName | (string & {});
  data: T;
  error: null;
}

/**
 * An error envelope. `data` is `null` for most commands; `health` keeps its empty result
 * structure. `command` is `null` only for usage errors (`CommandError`) and crashes (`InternalError`).
 */
export interface ErrorEnvelope<T> {
  status: 'error';
  command: CommandName | (string & {}) | null;
  data: T | null;
  error: ErrorInfo;
}

/** The JSON envelope every command prints. Narrow it by checking `status`. */
export type Envelope<T> = SuccessEnvelope<T> | ErrorEnvelope<T>;

/** A cached model, as reported by `list` (one per model) and `show` (`data.model`). */
export interface ModelObject {
  /** Hugging Face id, `"org/name"`. */
  name: string;
  /** The selected snapshot's commit (40 hex chars), or `null` when its directory name is not a commit. */
  hash: string | null;
  /** Bytes of every regular file in the selected snapshot, following its links into `blobs/`. */
  size_bytes: number;
  /** Modification time of the selected snapshot directory, UTC, `"YYYY-MM-DDTHH:MM:SSZ"`. */
  last_modified: string;
  /** Detected weight format. */
  framework: 'MLX' | 'GGUF' | 'PyTorch' | 'Unknown';
  /** Detected kind of model: `"chat"`, `"base"`, `"embedding"` or `"audio"`. */
  model_type: 'chat' | 'base' | 'embedding' | 'audio' | (string & {});
  /** What the model can do, in order, e.g. `["text-generation", "chat", "vision"]` or `["embeddings"]`. */
  capabilities: string[];
  /** Context window from config.json (`max_position_embeddings` and friends), or `null` if unknown. */
  context_length: number | null;
  /** Integrity of the cached files. */
  health: 'healthy' | 'unhealthy';
  /** Whether mlx-lm can run this model. */
  runtime_compatible: boolean;
  /** The first problem found (integrity first, then runtime), or `null` if there is none. */
  reason: string | null;
  /** `true` for models in the Hugging Face cache, `false` for workspaces (local folders). */
  cached: boolean;
  /** Workspaces: the sentinel's `source_repo` (the model it was cloned from); `null` for cache models. */
  origin: string | null;
  /** Workspaces: the content hash pinned in the sentinel (`"sha256:<hex>"`); `null` for cache models. */
  content_hash: string | null;
  /** Workspaces: when that hash was pinned (UTC ISO 8601); `null` for cache models. */
  hash_modified: string | null;
  /** Workspaces: whether the folder still holds what the hash pinned (`null`: unknown); `null` for cache models. */
  clean: boolean | null;
  /** `show` only, and only when config.json has an MLX `quantization` object, e.g. `{bits: 4, group_size: 64}`. */
  quantization?: { bits?: number; group_size?: number; [key: string]: unknown };
}

/** `data` of `list`. */
export interface ListData {
  /** Models sorted by name. */
  models: ModelObject[];
  /** `models.length`. */
  count: number;
  /** Always `null`: the core cannot ask the host for its memory (the original fills it on macOS only). */
  system: null;
}

/** One model's result in `health`. */
export interface HealthEntry {
  /** Hugging Face id, `"org/name"`. */
  name: string;
  status: 'healthy' | 'unhealthy';
  /** Always a string: `"Model is healthy"`, `"Multi-file model complete"` or what is wrong. */
  reason: string;
  /** With `deep: true` only: what the offline audit checked and found. */
  deep?: DeepEntry;
}

/** How bad a {@link Finding} is. Only `corrupt` makes a model unhealthy. */
export type Severity = 'corrupt' | 'partial' | 'stale' | 'notice';

/** One problem or leftover found by `health({deep: true})`. */
export interface Finding {
  /**
   * Stable code: `hash_mismatch`, `truncated`, `size_mismatch`, `lfs_pointer`, `tree_mismatch`,
   * `missing_shard`, `dangling_link`, `escaping_link`, `link_loop`, `unreadable`, `ref_whitespace`,
   * `ref_invalid`, `ref_missing_snapshot` (corrupt); `not_downloaded` (partial); `orphan_blob`,
   * `incomplete_download`, `stale_lock` (stale); `held_lock`, `lock_unknown`, `tree_unusable`,
   * `unexpected_file` (notice; a running download's `incomplete_download` too).
   */
  kind: string;
  severity: Severity;
  /** The thing on disk, relative to the cache root. */
  path: string;
  /** The snapshot file it concerns, relative to its snapshot. */
  file?: string;
  /** The snapshot `file` belongs to. */
  revision?: string;
  /** Size on disk in bytes. */
  size?: number;
  /** What it should be: a hash, a size, a commit. */
  expected?: string;
  /** What it is. */
  actual?: string;
  /** Last modification (UTC, ISO 8601), for locks and interrupted downloads. */
  modified?: string;
  /** One sentence for people. */
  message: string;
}

/** One model's deep audit. */
export interface DeepEntry {
  /** The snapshots audited (every one, or the `@rev` one). */
  revisions: string[];
  files_hashed: number;
  bytes_hashed: number;
  /** Plain files (no-symlink layout) that no tree listing can vouch for. */
  unverified: number;
  /** Most severe first, then by path. */
  findings: Finding[];
}

/** Totals of a deep audit. */
export interface DeepSummary {
  files_hashed: number;
  bytes_hashed: number;
  corrupt: number;
  partial: number;
  stale: number;
  notice: number;
}

/** Progress of a deep audit, reported to {@link HealthOptions.onProgress}. */
export interface AuditProgress {
  bytesHashed: number;
  totalBytes: number;
  files: number;
}

/** `data` of `health`. */
export interface HealthData {
  healthy: HealthEntry[];
  unhealthy: HealthEntry[];
  summary: {
    total: number;
    healthy_count: number;
    unhealthy_count: number;
  };
  /** With `deep: true` only: totals of the audit. */
  deep?: DeepSummary;
}

/** One file of `show --files`. */
export interface ShowFile {
  /** Base name of the file (nested files lose their directory). */
  name: string;
  /** Decimal size, e.g. `"234B"`, `"5.0KB"`, `"1.2GB"`. */
  size: string;
  /** `"config"`, `"weights"`, `"tokenizer"`, `"readme"` or `"other"`. */
  type: 'config' | 'weights' | 'tokenizer' | 'readme' | 'other' | (string & {});
}

/** Summary of config.json in a default `show`; each key only when the config has it. */
export interface ShowMetadata {
  model_type?: string;
  /** `architectures[0]`. */
  architecture?: string;
  /** `"<bits>bit"` from a Hugging Face `quantization_config`. */
  quantization?: string;
  context_length?: number;
  vocab_size?: number;
  hidden_size?: number;
  num_attention_heads?: number;
  num_hidden_layers?: number;
}

/**
 * `data` of `show`. After `model` and `workspace_metadata` comes exactly one of:
 * `files` (with `files: true`), `config` (with `config: true`) or `metadata` (default).
 * `metadata` is `null` in the first two cases.
 */
export interface ShowData {
  model: ModelObject;
  /** `null` for cache models; a workspace's whole sentinel (`.mlxk_workspace.json`), `{}` without one. */
  workspace_metadata: Record<string, unknown> | null;
  /** `recalcHash` on a managed workspace whose hash was pinned again: `true`. */
  hash_updated?: true;
  /** With `files: true`: the snapshot's files, sorted by path. */
  files?: ShowFile[];
  /** With `config: true` (and no `files`): the parsed config.json, or `null` if missing or invalid. */
  config?: Record<string, unknown> | null;
  /** The config summary by default; `null` with `files`/`config`, or when there is nothing to report. */
  metadata?: ShowMetadata | null;
}

/** `data` of `rm`. */
export interface RmData {
  /** The resolved model, or `null` when nothing was resolved. */
  model: string | null;
  /** `deleted`, `would_delete` (dry run), `requires_confirmation`, `ambiguous` or `unknown` (errors). */
  action: 'deleted' | 'would_delete' | 'requires_confirmation' | 'ambiguous' | 'unknown';
  /** E.g. `"Deleted entire model org/name"`, `"Deleted org/name@<commit>"`, `"Would delete 'org/name' (matched from 'name')"`. */
  message: string;
  /** `true` when a fuzzy match waits for `force`. Nothing was deleted. */
  requires_confirmation: boolean;
  /** Candidates of an ambiguous match. */
  matches: string[];
  /** Lock files nobody held that were removed. */
  lock_files_cleaned: number;
  /** With `locks_present`: a live process holds these locks (or they cannot be probed here). */
  locks_detected?: true;
  /** Those lock files, relative to the cache. */
  lock_files?: string[];
  /** The revision removed, for `name@rev`. */
  commit_hash?: string;
  /** `repository` (the whole repo went, also when `@rev` was its last revision) or `revision`. */
  removed?: 'repository' | 'revision' | 'files';
  /** Bytes of regular files removed (or that would be, with `dryRun`). */
  freed_bytes?: number;
  /** `true` with `dryRun`. */
  dry_run?: true;
  /** With `files`: the snapshot paths removed (or that would be). */
  files?: string[];
}

/**
 * A `WebAssembly.Module` compiled from core.wasm, typed loosely: not every TypeScript setup has
 * the `WebAssembly` types (they come with the `dom` lib or recent `@types/node`).
 */
export type CompiledCore = object;

/** `data` of `pull`, in MLX-Knife 2.0.8's key order, with this tool's additive counts. */
export interface PullData {
  /** The repo pulled (`null` when the name was invalid). */
  model: string | null;
  /** `success`, `already_exists`, `requires_confirmation`, `failed`, `access_denied`, `error` (validation) or `unknown` (ambiguous). */
  download_status: 'success' | 'already_exists' | 'requires_confirmation' | 'failed' | 'access_denied' | 'error' | 'unknown' | (string & {});
  /** What happened: `"Downloaded to <snapshot>"` on success, the reason otherwise. */
  message: string;
  /** The cached name the spec resolved to, when it differs from what was typed. */
  expanded_name: string | null;
  /** The commit pulled or found (40 hex) once it is known. */
  commit_hash?: string;
  /** Why the revision request failed, when the download could not go on without it. */
  preflight_warning?: string;
  /** Files the commit has. */
  files_total?: number;
  /** Files fetched over the network by this call. */
  files_downloaded?: number;
  /** Bytes received by this call (a resumed file counts only what was new). */
  bytes_downloaded?: number;
  /** The pulled revision's health, checked after the download: `"healthy"` or `"unhealthy: <reason>"`. */
  health?: string;
}

/** What {@link PullOptions.onProgress} receives as bytes arrive and files finish. */
export interface PullProgress {
  /** Bytes in place so far (received, resumed or already cached). */
  bytes: number;
  /** Bytes the commit has. */
  totalBytes: number;
  /** Files finished so far. */
  files: number;
  /** Files the commit has. */
  totalFiles: number;
  /** The file this event is about. */
  file: string;
}

/** Options of {@link pull}. */
export interface PullOptions extends CommonOptions {
  /** `"org/name"` or `"org/name@rev"` (a branch, tag or commit). */
  model: string;
  /** `--force-resume`: fetch even when the cached copy is healthy, or unhealthy and partial. */
  forceResume?: boolean;
  /**
   * `--include`: take only the files matching one of these globs (huggingface_hub's
   * `allow_patterns`: `*` also matches `/`, `"dir/"` means everything under it).
   */
  include?: string[];
  /** `--exclude`: leave out the files matching one of these globs (`ignore_patterns`). */
  exclude?: string[];
  /** The Hub. Default: `HF_ENDPOINT`, else `https://huggingface.co`. */
  endpoint?: string;
  /** The token. Default: `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, then the token file (`HF_TOKEN_PATH`, default `$HF_HOME/token`). */
  token?: string;
  /** Called as bytes arrive and files finish. */
  onProgress?: (progress: PullProgress) => void;
}

/** What {@link prune} removes: the `kind` of a {@link PruneItem}. */
export type PruneKind = 'revision' | 'orphan_blob' | 'incomplete_download' | 'stale_lock' | 'lock_folder';

/** One thing `prune` removed (or, with `dryRun`, would remove). */
export interface PruneItem {
  kind: PruneKind;
  /** The repo, `org/name`. */
  model: string;
  /** Relative to the cache. */
  path: string;
  /** The commit of a `revision`. */
  commit_hash?: string;
  /** Bytes of regular files freed. */
  bytes: number;
}

/** One thing `prune` kept although it looked like garbage. */
export interface PruneKept {
  kind: PruneKind;
  model: string;
  path: string;
  /**
   * `held_lock` (a download is running), `lock_unknown` (locks cannot be probed here),
   * `recently_written` (in the last 5 minutes), `pinned_by_commit` (no ref names any snapshot of
   * the repo) or `unexpected_files` (a lock folder holds other files).
   */
  reason: 'held_lock' | 'lock_unknown' | 'recently_written' | 'pinned_by_commit' | 'unexpected_files';
}

/** `data` of `prune`. */
export interface PruneData {
  action: 'pruned' | 'would_prune' | 'nothing_to_prune';
  /** E.g. `"Removed 1 detached revision and 2 stale locks; freed 1.2GB"`. */
  message: string;
  dry_run: boolean;
  /** In the order of removal. */
  removed: PruneItem[];
  kept: PruneKept[];
  summary: {
    revisions: number;
    orphan_blobs: number;
    incomplete_downloads: number;
    stale_locks: number;
    lock_folders: number;
    freed_bytes: number;
  };
}

/** Options of {@link prune}. */
export interface PruneOptions extends CommonOptions {
  /** `--dry-run`: report what would be removed and the bytes freed; remove nothing. */
  dryRun?: boolean;
}

/** Options of {@link rm}. */
export interface RmOptions extends CommonOptions {
  /** `"org/name"` (exact: no confirmation needed), a short name, or `"org/name@rev"` (that revision only). */
  model: string;
  /** `--force`: delete a fuzzy match, and delete even if a live process holds a lock. */
  force?: boolean;
  /** `--dry-run`: report what would be removed and the bytes freed; remove nothing. */
  dryRun?: boolean;
  /**
   * `--files`: remove only the snapshot's files matching these globs (huggingface_hub's
   * pattern rules), with the blobs nothing else uses; refs and the rest stay.
   */
  files?: string[];
}

/** `data` of `version`. */
export interface VersionData {
  /** Version of this mlx-knife (the Rust one), e.g. `"0.1.0"`; not the Python original's `2.0.x`. */
  cli_version: string;
  /** Version of the JSON API these envelopes follow, e.g. `"0.2.4"` (the same as MLX-Knife 2.0.8's). */
  json_api_spec_version: string;
  /** Always `null`: the core cannot ask the host for its memory (the original fills it on macOS only). */
  system: null;
  /** The host's inference engine: always `null` here (the package has no engine; the CLI reports its mlx-lm). */
  engine: null | { name: 'mlx-lm'; version: string; python: string };
}

/** Options every command takes. */
export interface CommonOptions {
  /**
   * Hugging Face hub cache directory (the one holding `models--*`), resolved against the current
   * directory. Defaults to {@link resolveCacheDir}. A `cacheDir` (or `HF_HUB_CACHE` /
   * `HUGGINGFACE_HUB_CACHE`) that does not exist or is not a directory gives a `cache_not_found`
   * error envelope; only the default location may be missing (an empty cache).
   */
  cacheDir?: string;
  /**
   * The workspace home (`MLXK_WORKSPACE_HOME`, which is the default): bare names resolve to its
   * workspaces before the cache, `list` and `health` include them. Ignored unless it is a folder.
   */
  workspaceHome?: string;
  /**
   * Throw instead of returning an error envelope. The `Error` has `.message` = `error.message`,
   * `.code` = `error.type` and `.data` = the whole envelope. Default `false`.
   */
  throwOnError?: boolean;
  /**
   * Cancels the call: it rejects at once with an `Error` whose `name` is `'AbortError'` (`code`
   * `'ABORT_ERR'`, `cause` the signal's reason). The core stops at its next file-system call;
   * a removal in progress stops between two files, in its kill-safe order.
   */
  signal?: AbortSignal;
  /** Cancels the call after this many milliseconds, as `signal` does (the message says it timed out). */
  timeoutMs?: number;
  /**
   * The core module, for bundled apps: a path, a URL (`file:`, `data:` or `http(s):`), a compiled
   * `WebAssembly.Module` or the bytes of `core.wasm` (e.g. esbuild's `--loader:.wasm=binary`).
   * Default: the `core.wasm` beside this package's entry file (beside the bundle, once bundled).
   * Each distinct value is compiled once per process.
   */
  wasm?: string | URL | CompiledCore | ArrayBuffer | ArrayBufferView;
  /**
   * The pool workers' script, for bundled apps: the path or `file:` URL of `mlx-knife/worker.mjs`
   * (or of its bundle). Default: the `worker.mjs` beside this package's entry file (beside the
   * bundle, once bundled).
   */
  worker?: string | URL;
}

/** Options of {@link list}. */
export interface ListOptions extends CommonOptions {
  /** Keep only models whose name contains this, case-insensitively. Blank means no filter. */
  pattern?: string;
  /** `--all`: passed to the core. The CLI's table then shows unhealthy and non-runnable models too; the JSON always lists every model. */
  all?: boolean;
  /** `--health`: passed to the core. The CLI's table then gets a health column; the JSON always has `health`. */
  health?: boolean;
  /** `--verbose`: passed to the core. The CLI's table then gets extra columns; the JSON always has every field. */
  verbose?: boolean;
}

/** Options of {@link health}. */
export interface HealthOptions extends CommonOptions {
  /** Check only this model (`"org/name"`, a short name or `"org/name@rev"`); default: every cached model. */
  model?: string;
  /**
   * `--deep`: hash every blob against its name and `trees/<commit>.json`, find orphan blobs,
   * interrupted downloads, stale and held locks and broken refs. Reads every byte (node:crypto).
   */
  deep?: boolean;
  /** Called as a deep audit hashes: first with `bytesHashed: 0`, then after every 128 KiB read. */
  onProgress?: (progress: AuditProgress) => void;
}

/** Options of {@link show}. */
export interface ShowOptions extends CommonOptions {
  /** The model: `"org/name"`, a short name or `"org/name@rev"` (a commit prefix). Required. */
  model: string;
  /** `--files`: list the snapshot's files. Wins over `config`. */
  files?: boolean;
  /** `--config`: include the parsed config.json. */
  config?: boolean;
  /**
   * `--recalc-hash`, workspaces only: hash the folder again and pin the result in its sentinel
   * (managed workspaces; otherwise nothing is written). `data.hash_updated` is `true` when it was.
   */
  recalcHash?: boolean;
}

/**
 * Thrown, before anything runs and whatever `throwOnError` says, when a function gets options it
 * does not know, of the wrong type, or no options object (`rm('org/x')`): a misread option is a
 * bug in the caller, never an operation, and `rm({ model, dry_run: true })` must not delete.
 */
export interface InvalidOptionError extends TypeError {
  code: 'ERR_MLXK_INVALID_OPTION';
  /** The option at fault, when there is one. */
  option?: string;
}

/** Options of {@link run}. */
export interface RunOptions {
  /** Hugging Face hub cache directory; see {@link CommonOptions.cacheDir}. */
  cacheDir?: string;
  /** See {@link CommonOptions.workspaceHome}. */
  workspaceHome?: string;
  /** See {@link HealthOptions.onProgress}. */
  onProgress?: (progress: AuditProgress) => void;
  /** See {@link CommonOptions.signal}. */
  signal?: AbortSignal;
  /** See {@link CommonOptions.timeoutMs}. */
  timeoutMs?: number;
  /** See {@link CommonOptions.wasm}. */
  wasm?: CommonOptions['wasm'];
  /** See {@link CommonOptions.worker}. */
  worker?: CommonOptions['worker'];
}

/** The `mlxk_host_v1` import object core.wasm needs besides WASI (hashing, lock probes, progress). */
export interface HostImports {
  hash_file(pathPtr: number, pathLen: number, algo: number, outPtr: number): number;
  hash_files(requestPtr: number, requestLen: number, outPtr: number): number;
  probe_lock(pathPtr: number, pathLen: number, outPtr: number): number;
  progress_begin(totalBytes: bigint, files: bigint): void;
}

/** What one run of the core produced. */
export interface RunResult {
  /** 0 success, 1 the command failed, 2 usage error. */
  exitCode: number;
  /** Everything the core printed: the JSON envelope with `--json`, else the CLI's human text. */
  stdout: Buffer;
  /** Diagnostics the core printed; never written to this process's stderr. */
  stderr: Buffer;
}

/**
 * The `Error` thrown for error envelopes with `throwOnError: true`, and with `code: "InternalError"`
 * when the core's output is not a JSON envelope or the core crashes.
 */
export interface MlxKnifeError extends Error {
  /** `error.type` of the envelope, or `"InternalError"`. */
  code: string;
  /** The error envelope (absent for `InternalError`). */
  data?: ErrorEnvelope<unknown>;
  /** The core's exit code (`InternalError` only). */
  exitCode?: number;
  /** The core's stdout (`InternalError` only). */
  stdout?: Buffer;
  /** The core's stderr (`InternalError` only). */
  stderr?: Buffer;
}

/**
 * Lists cached models (`mlxk list [pattern] --json`).
 * @throws {InvalidOptionError} on an unknown option or a wrong type.
 * @example
 * const { data } = await list({ pattern: 'llama' });
 */
export function list(options?: ListOptions): Promise<Envelope<ListData>>;

/**
 * Checks the integrity of one model or of every cached model (`mlxk health [model] [--deep] --json`).
 * With `deep: true` the envelope is still `success` when corruption is found; the affected models
 * are `unhealthy` and `data.deep.corrupt` counts the findings.
 * A model that matches nothing gives a success envelope with empty lists.
 */
export function health(options?: HealthOptions): Promise<Envelope<HealthData>>;

/**
 * Shows one model (`mlxk show <model> [--files] [--config] --json`). `@rev` is a branch or tag
 * name from the repo's `refs/`, or a commit prefix.
 * @throws {InvalidOptionError} if `options.model` is missing, or on an unknown option or a wrong type.
 */
export function show(options: ShowOptions): Promise<Envelope<ShowData>>;

/** The versions of mlx-knife and its JSON API (`mlxk --version --json`). */
export function version(options?: CommonOptions): Promise<Envelope<VersionData>>;

/**
 * Deletes a model (`mlxk rm <model> --json`), or one revision of it with `"org/name@rev"`: its
 * snapshot, the refs naming it and the blobs no other revision uses (the last revision takes the
 * repo). A fuzzy or expanded name needs `force`; a lock a live process holds blocks
 * (`locks_present`) unless `force`. Where locks cannot be probed (no `/proc/locks` and no BSD
 * `O_EXLOCK`), a lock blocks only while the repo has an unfinished download (`blobs/*.incomplete`).
 * Nothing outside the cache can be touched.
 * @throws {InvalidOptionError} if `options.model` is missing, or on an unknown option or a wrong type.
 */
export function rm(options: RmOptions): Promise<Envelope<RmData>>;

/**
 * Removes what no ref reaches and no process uses (`mlxk prune --json`): detached revisions,
 * orphan blobs, interrupted downloads and stale locks of the model repos. A repo whose download is
 * running keeps everything; partials and locks written in the last 5 minutes stay; a repo no ref
 * names (pinned by commit) keeps its snapshots. What stays is listed in `kept` with the reason.
 * @throws {InvalidOptionError} on an unknown option or a wrong type.
 */
export function prune(options?: PruneOptions): Promise<Envelope<PruneData>>;

/**
 * Downloads a model into the cache (`mlxk pull <model> --json`): the same envelope, verification
 * (sha256 for LFS files, git's blob sha1 for the others, before anything is linked), resumable
 * `blobs/<etag>.incomplete` partials and layout (`trees/<commit>.json`, relative links, `refs/`
 * last) as the CLI, which huggingface_hub reads as its own. A healthy cached copy makes no request.
 * Node cannot take huggingface_hub's flock: it waits while another process holds one (Linux's
 * `/proc/locks`, BSD `O_EXLOCK`), and claims a partial by renaming it to a name of its own, so two
 * writers never share a file. `HF_HUB_OFFLINE` is honoured. `signal`/`timeoutMs` cancel the whole
 * pull; the partial stays resumable.
 * @throws {InvalidOptionError} if `options.model` is missing, or on an unknown option or a wrong type.
 */
export function pull(options: PullOptions): Promise<Envelope<PullData>>;

/**
 * Runs the core once, like the CLI with `argv` after its global options, and returns its exit
 * code and raw output. The cache directory is the only directory the core can see, and it gets
 * no environment variables.
 * @param argv Arguments without the leading `"mlxk"`, e.g. `["list", "--json"]`.
 * @example
 * const { exitCode, stdout } = await run(['list']); // human-readable table
 */
export function run(argv: readonly string[], options?: RunOptions): Promise<RunResult>;

/**
 * The Hugging Face hub cache directory, as huggingface_hub resolves it: `HF_HUB_CACHE`, then
 * `HUGGINGFACE_HUB_CACHE`, then `$HF_HOME/hub`, then `$XDG_CACHE_HOME/huggingface/hub`, then
 * `~/.cache/huggingface/hub`. Empty variables count as unset; a leading `~` is expanded with
 * `HOME` (or the OS home directory). The result is absolute.
 * @param env Environment to read; defaults to `process.env`.
 */
export function resolveCacheDir(env?: Record<string, string | undefined>): string;

/**
 * The `mlxk_host_v1` imports, for running core.wasm under your own WASI setup: every path is
 * confined to `cacheDir`. `getMemory` returns the instance's exported memory.
 */
export function createHostImports(
  cacheDir: string,
  getMemory: () => { readonly buffer: ArrayBuffer },
  onProgress?: (progress: AuditProgress) => void,
  /** Polled while hashing: once it returns true the hash stops (status 4, I/O error). */
  stopped?: () => boolean,
): HostImports;
