/**
 * @module
 * The ordered walk behind the fs MetadataStore's `list`: documents under a prefix in key
 * order, produced lazily, so that a page (`after`, `limit`) reads only the directories on the
 * way to it and the documents it returns. Each directory's entries are ordered with a heap
 * (a page costs one pass over a directory, not a sort of it); subtrees wholly before `after`
 * or outside the prefix are never opened. Symbolic links are refused, never followed.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { IntegrityError } from '../../core/errors.js';
import { compareKeys } from '../../metadata/keys.js';
import type { Versioned } from '../../metadata/types.js';
import { DOC_SUFFIX, parseDocument } from './doc-file.js';
import { assertNoSymlinks, errorCode, readOptional, storageError, symlinkError } from './io.js';
import { dirName, isHashedName, segmentOfName } from './key-path.js';

/** A document found by the walk; `doc` is set when the walk had to read it anyway. */
export interface WalkedDocument {
  key: string;
  path: string;
  doc?: Versioned;
}

/** What to walk. */
export interface DocWalk {
  /** The store root (no symbolic link is followed below it). */
  root: string;
  /** The directory of the documents. */
  docsDir: string;
  /** Only keys that start with this. */
  prefix: string;
  /** Only keys after this one (key order). */
  after?: string | undefined;
  /** How many documents the caller will take at most (a hint: small pages use a heap). */
  limit?: number | undefined;
}

/** Documents whose key starts with `prefix` and comes after `after`, in key order. */
export async function* walkDocuments(walk: DocWalk): AsyncGenerator<WalkedDocument> {
  const parts = walk.prefix.split('/');
  parts.pop(); // the partial last segment is matched inside the walk
  if (parts.some((segment) => segment === '')) return; // no key has an empty segment
  const state: WalkState = { ...walk, hashedDirs: new Map() };
  // Keys too deep for the path budget live as hashed files in an ancestor directory.
  const extras: WalkedDocument[] = [];
  let dir = walk.docsDir;
  for (const segment of parts) {
    for (const name of await names(state, dir)) {
      if (isHashedName(name, DOC_SUFFIX)) await addHashed(extras, join(dir, name), walk.prefix);
    }
    dir = join(dir, dirName(segment));
  }
  const base = parts.length === 0 ? '' : `${parts.join('/')}/`;
  yield* walkDir(state, dir, base, extras);
}

interface WalkState extends DocWalk {
  /** Hashed directory path -> the key segment it stands for. */
  hashedDirs: Map<string, string | undefined>;
}

/**
 * One entry of a directory, ready to be ordered by `rel`: its key (a document) or the start
 * of its keys (`segment/`, a subtree) relative to the directory's `base`, which all entries
 * share, so comparing `rel` orders the keys without building each of them.
 */
type Item =
  | { kind: 'doc'; rel: string; name: string; found?: WalkedDocument }
  | { kind: 'dir'; rel: string; path: string | undefined; extras: WalkedDocument[] };

async function* walkDir(
  state: WalkState,
  dir: string | undefined,
  base: string,
  inherited: WalkedDocument[],
): AsyncGenerator<WalkedDocument> {
  const bounds = relativeBounds(state, base);
  if (bounds === undefined) return;
  const { prefix, after } = bounds;
  const wants = (rel: string): boolean =>
    rel.startsWith(prefix) && (after === undefined || compareKeys(rel, after) > 0);
  const items: Item[] = [];
  const extras = [...inherited];
  const dirs = new Map<string, Item & { kind: 'dir' }>();
  const addDir = (segment: string, path: string | undefined): void => {
    const rel = `${segment}/`;
    // A subtree can hold a listed key unless it is outside the prefix or wholly before `after`.
    if (!rel.startsWith(prefix) && !prefix.startsWith(rel)) return;
    if (after !== undefined && !after.startsWith(rel) && compareKeys(after, rel) >= 0) return;
    const existing = dirs.get(rel);
    if (existing !== undefined) {
      existing.path ??= path;
      return;
    }
    const item: Item & { kind: 'dir' } = { kind: 'dir', rel, path, extras: [] };
    dirs.set(rel, item);
    items.push(item);
  };
  if (dir !== undefined) {
    const depth = base === '' ? 0 : base.split('/').length - 1;
    for (const name of await names(state, dir)) {
      if (name.endsWith(DOC_SUFFIX)) {
        const segment = plainSegment(name.slice(0, -DOC_SUFFIX.length));
        if (segment !== undefined) {
          if (wants(segment)) items.push({ kind: 'doc', rel: segment, name });
        } else if (isHashedName(name, DOC_SUFFIX)) {
          await addHashed(extras, join(dir, name), state.prefix);
        }
        continue;
      }
      const segment = plainSegment(name);
      if (segment !== undefined) addDir(segment, `${dir}${sep}${name}`);
      else if (isHashedName(name, '')) {
        const path = join(dir, name);
        const resolved = await hashedDirSegment(state, path, depth);
        if (resolved !== undefined) addDir(resolved, path);
      }
    }
  }
  // A folded deep key belongs to the subtree of its next segment, whether or not that
  // subtree has a directory here.
  for (const found of extras) {
    const rest = found.key.slice(base.length);
    if (!wants(rest)) continue;
    const slash = rest.indexOf('/');
    if (slash === -1) {
      items.push({ kind: 'doc', rel: rest, name: '', found });
      continue;
    }
    addDir(rest.slice(0, slash), undefined);
    dirs.get(rest.slice(0, slash + 1))?.extras.push(found);
  }
  // A page much smaller than the directory takes its first entries from a heap; a listing of
  // most of it sorts it once.
  const next = ordered(items, state.limit);
  for (let item = next(); item !== undefined; item = next()) {
    if (item.kind === 'doc') {
      yield item.found ?? { key: base + item.rel, path: `${dir}${sep}${item.name}` };
      continue;
    }
    if (item.path !== undefined) await assertRealDirectory(item.path);
    yield* walkDir(state, item.path, base + item.rel, item.extras);
  }
}

/**
 * The prefix and `after` of the walk relative to `base` (the keys of one directory), or
 * `undefined` when no key under `base` can be listed.
 */
function relativeBounds(
  state: WalkState,
  base: string,
): { prefix: string; after: string | undefined } | undefined {
  let prefix = '';
  if (state.prefix.startsWith(base)) prefix = state.prefix.slice(base.length);
  else if (!base.startsWith(state.prefix)) return undefined;
  const { after } = state;
  if (after === undefined) return { prefix, after: undefined };
  if (after.startsWith(base)) return { prefix, after: after.slice(base.length) };
  // Every key under `base` sorts after `after` (or every one before it).
  return compareKeys(after, base) < 0 ? { prefix, after: undefined } : undefined;
}

/** The names in a directory (`[]` when it does not exist). */
async function names(state: WalkState, dir: string): Promise<string[]> {
  assertNoSymlinks(state.root, dir);
  try {
    return await readdir(dir);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw storageError(error, 'list', dir);
  }
}

/** The key segment of a plain (not hashed) name; fast for names that need no decoding. */
function plainSegment(name: string): string | undefined {
  if (SIMPLE.test(name) && !DEVICE.test(name)) return name;
  return segmentOfName(name, '');
}

const SIMPLE = /^[a-z0-9_-]+$/;
// Windows device names are always stored escaped: a bare one is not a name keel wrote.
const DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

async function assertRealDirectory(path: string): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink()) throw symlinkError(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return;
    throw storageError(error, 'inspect', path);
  }
}

/** Reads a hashed document file (its key is only inside) and keeps it when it has the prefix. */
async function addHashed(extras: WalkedDocument[], path: string, prefix: string): Promise<void> {
  const bytes = await readOptional(path);
  if (bytes === undefined) return;
  const doc = parseDocument(bytes.toString('utf8'));
  if (doc === undefined) {
    throw new IntegrityError(
      `[keel] [fs] the document file ${path} is unreadable: restore it from a backup or delete it`,
      { details: { path } },
    );
  }
  if (doc.key.startsWith(prefix)) {
    extras.push({ key: doc.key, path, doc: { value: doc.value, revision: doc.revision } });
  }
}

/**
 * The segment a hashed directory (a segment too long for a file name) stands for, read from
 * the key of any document below it; `undefined` when it holds none.
 */
async function hashedDirSegment(
  state: WalkState,
  path: string,
  depth: number,
): Promise<string | undefined> {
  if (state.hashedDirs.has(path)) return state.hashedDirs.get(path);
  const key = await anyKeyBelow(state, path);
  const segment = key?.split('/')[depth];
  state.hashedDirs.set(path, segment);
  return segment;
}

async function anyKeyBelow(state: WalkState, dir: string): Promise<string | undefined> {
  await assertRealDirectory(dir);
  const entries = await names(state, dir);
  for (const name of entries) {
    if (!name.endsWith(DOC_SUFFIX)) continue;
    const bytes = await readOptional(join(dir, name));
    const doc = bytes === undefined ? undefined : parseDocument(bytes.toString('utf8'));
    if (doc !== undefined) return doc.key;
  }
  for (const name of entries) {
    if (name.includes('.')) continue;
    const key = await anyKeyBelow(state, join(dir, name));
    if (key !== undefined) return key;
  }
  return undefined;
}

function ordered(items: Item[], limit: number | undefined): () => Item | undefined {
  if (limit === undefined || limit >= items.length / 8) {
    items.sort((a, b) => compareKeys(a.rel, b.rel));
    let index = 0;
    return () => items[index++];
  }
  heapify(items);
  return () => pop(items);
}

// A binary min-heap on `rel` (key order): a page of a large directory costs one pass to build
// and a logarithm per entry taken, instead of sorting the whole directory.
function heapify(heap: Item[]): void {
  for (let i = (heap.length >>> 1) - 1; i >= 0; i--) siftDown(heap, i);
}

function pop(heap: Item[]): Item | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (top !== undefined && last !== undefined && heap.length > 0) {
    heap[0] = last;
    siftDown(heap, 0);
  }
  return top;
}

function siftDown(heap: Item[], start: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    const right = left + 1;
    let least = i;
    if (left < heap.length && compareKeys(heap[left]!.rel, heap[least]!.rel) < 0) least = left;
    if (right < heap.length && compareKeys(heap[right]!.rel, heap[least]!.rel) < 0) least = right;
    if (least === i) return;
    const swap = heap[i]!;
    heap[i] = heap[least]!;
    heap[least] = swap;
    i = least;
  }
}
