// Runs one pull() of the npm package for the Rust tests: the request is a JSON argument
// ({model, cacheDir, endpoint?, token?, forceResume?, abortAfterBytes?}); prints
// {envelope} or {error: {name, code, message}}, with the progress events seen and what
// still holds the event loop (`alive`).
import { pull } from '../../npm/index.mjs';

const { abortAfterBytes, ...request } = JSON.parse(process.argv[2]);
const controller = new AbortController();
const events = [];
const options = {
  ...request,
  signal: controller.signal,
  onProgress: (event) => {
    events.push(event);
    if (abortAfterBytes !== undefined && event.bytes >= abortAfterBytes) controller.abort(new Error('enough'));
  },
};
const out = { events: events.length, last: null };
try {
  out.envelope = await pull(options);
} catch (error) {
  out.error = { name: error.name, code: error.code, message: error.message };
}
// What still keeps the event loop alive once the call has answered (a socket left open would
// keep a script from exiting): nothing may.
await new Promise((resolve) => setImmediate(resolve));
out.alive = process.getActiveResourcesInfo().filter((r) => !['TTYWrap', 'PipeWrap', 'Immediate'].includes(r));
out.events = events.length;
out.last = events.at(-1) ?? null;
process.stdout.write(JSON.stringify(out));
