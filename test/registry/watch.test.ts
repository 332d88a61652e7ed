/**
 * The resolve cache on a store shared across processes: with change notifications
 * (`capabilities.watch`) another process's alias move is seen at once; without them only
 * after the cache's time bound (set long here, so that only a notification can refresh it).
 */
import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import type { MetadataStore } from '../../src/metadata/types.js';
import { createRegistry } from '../../src/registry/registry.js';
import { inMode } from './stores.js';

/** One process's handle on a store that several processes share. */
function processView(inner: MetadataStore, watch: boolean): MetadataStore {
  const view = inMode(inner, 'batch');
  return {
    ...view,
    capabilities: { sharedAcrossProcesses: true, atomicBatch: true, watch },
    ...(watch ? { watch: (prefix, onChange) => inner.watch!(prefix, onChange) } : {}),
  };
}

async function twoProcesses(watch: boolean) {
  const inner = createMemoryMetadataStore();
  const artifacts = createMemoryArtifactStore();
  // A long time bound, so that only a notification can refresh the cache.
  const here = createRegistry({
    metadata: processView(inner, watch),
    artifacts,
    resolveCacheMs: 60_000,
  });
  const there = createRegistry({ metadata: processView(inner, watch), artifacts });
  const { digest } = await artifacts.put('w');
  await here.registerVersion('m', { artifact: digest });
  await here.registerVersion('m', { artifact: digest });
  await here.setAlias('m', 'prod', 1);
  expect((await here.resolve('m', 'prod')).version).toBe(1);
  expect((await here.resolve('m', 'latest')).version).toBe(2);
  await there.setAlias('m', 'prod', 2);
  await there.archiveVersion('m', 1);
  await there.registerVersion('m', { artifact: digest });
  await new Promise((resolve) => setTimeout(resolve, 0));
  return here;
}

describe('resolve cache across processes', () => {
  it('with watch, a move by another process is seen at once (no polling)', async () => {
    const here = await twoProcesses(true);
    expect((await here.resolve('m', 'prod')).version).toBe(2);
    expect((await here.resolve('m', 'latest')).version).toBe(3);
  });

  it('without watch, the cached answer stands until the time bound', async () => {
    const here = await twoProcesses(false);
    expect((await here.resolve('m', 'prod')).version).toBe(1);
  });
});

describe('resolve cache and a prefix-wide change', () => {
  it('a change named by the watched prefix (a reconnect that may have missed changes) drops every entry', async () => {
    const inner = createMemoryMetadataStore();
    const artifacts = createMemoryArtifactStore();
    const listeners: ((change: { key: string }) => void)[] = [];
    // This process's notifications are lost; only a prefix-wide change tells it to re-read.
    const deaf: MetadataStore = {
      ...inMode(inner, 'batch'),
      capabilities: { sharedAcrossProcesses: true, atomicBatch: true, watch: true },
      watch: (_prefix, onChange) => {
        listeners.push(onChange);
        return () => {};
      },
    };
    const here = createRegistry({ metadata: deaf, artifacts, resolveCacheMs: 60_000 });
    const there = createRegistry({ metadata: inMode(inner, 'batch'), artifacts });
    const { digest } = await artifacts.put('w');
    await here.registerVersion('m', { artifact: digest });
    await here.registerVersion('m', { artifact: digest });
    await here.setAlias('m', 'prod', 1);
    expect((await here.resolve('m', 'prod')).version).toBe(1);
    await there.setAlias('m', 'prod', 2);
    expect((await here.resolve('m', 'prod')).version).toBe(1);
    for (const listener of listeners) listener({ key: 'registry/' });
    expect((await here.resolve('m', 'prod')).version).toBe(2);
  });
});
