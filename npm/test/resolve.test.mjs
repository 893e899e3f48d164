import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { resolveCacheDir } from '../index.mjs';

const HOME = path.resolve('/home/someone');

test('HF_HUB_CACHE wins over everything', () => {
  const env = {
    HOME,
    HF_HUB_CACHE: '/a/hub-cache',
    HUGGINGFACE_HUB_CACHE: '/b',
    HF_HOME: '/c',
    XDG_CACHE_HOME: '/d',
  };
  assert.equal(resolveCacheDir(env), path.resolve('/a/hub-cache'));
});

test('then HUGGINGFACE_HUB_CACHE', () => {
  const env = { HOME, HUGGINGFACE_HUB_CACHE: '/b', HF_HOME: '/c', XDG_CACHE_HOME: '/d' };
  assert.equal(resolveCacheDir(env), path.resolve('/b'));
});

test('then $HF_HOME/hub', () => {
  assert.equal(resolveCacheDir({ HOME, HF_HOME: '/c', XDG_CACHE_HOME: '/d' }), path.resolve('/c/hub'));
});

test('then $XDG_CACHE_HOME/huggingface/hub', () => {
  assert.equal(resolveCacheDir({ HOME, XDG_CACHE_HOME: '/d' }), path.resolve('/d/huggingface/hub'));
});

test('then ~/.cache/huggingface/hub', () => {
  assert.equal(resolveCacheDir({ HOME }), path.join(HOME, '.cache', 'huggingface', 'hub'));
});

test('empty values count as unset', () => {
  const env = { HOME, HF_HUB_CACHE: '', HUGGINGFACE_HUB_CACHE: '', HF_HOME: '', XDG_CACHE_HOME: '' };
  assert.equal(resolveCacheDir(env), path.join(HOME, '.cache', 'huggingface', 'hub'));
});

test('a leading ~ is expanded in every variable', () => {
  assert.equal(resolveCacheDir({ HOME, HF_HUB_CACHE: '~/hc' }), path.join(HOME, 'hc'));
  assert.equal(resolveCacheDir({ HOME, HUGGINGFACE_HUB_CACHE: '~' }), HOME);
  assert.equal(resolveCacheDir({ HOME, HF_HOME: '~/hf' }), path.join(HOME, 'hf', 'hub'));
  assert.equal(resolveCacheDir({ HOME, XDG_CACHE_HOME: '~/xdg' }), path.join(HOME, 'xdg', 'huggingface', 'hub'));
  // Only a leading `~` or `~/`; `~user` and embedded tildes are left alone.
  assert.equal(resolveCacheDir({ HOME, HF_HUB_CACHE: '/a/~/b' }), path.resolve('/a/~/b'));
});

test('without HOME the OS home directory is used', () => {
  assert.equal(resolveCacheDir({}), path.join(os.homedir(), '.cache', 'huggingface', 'hub'));
});

test('relative values become absolute', () => {
  assert.equal(resolveCacheDir({ HOME, HF_HUB_CACHE: 'rel/hub' }), path.resolve('rel/hub'));
});

test('defaults to process.env', () => {
  assert.equal(resolveCacheDir(), resolveCacheDir(process.env));
});
