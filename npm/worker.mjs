// The entry of mlx-knife's pool workers (index.mjs starts them from this file). On its own it does
// nothing: index.mjs serves jobs when it finds itself in a pool worker. A bundled app bundles this
// file as a second entry point beside its own, so the worker never runs the app's code.
import './index.mjs';
