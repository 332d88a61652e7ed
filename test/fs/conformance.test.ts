import { describe, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import {
  createFsMetadataStore,
  createFsMetadataStoreWithHooks,
  type FsMetadataStore,
} from '../../src/backends/fs/metadata-store.js';
import { describeArtifactStore } from '../../src/testing/artifact-store-suite.js';
import { type BatchCrash, describeMetadataStore } from '../../src/testing/metadata-store-suite.js';
import { tempRoot } from './helpers.js';

const runner = { describe, it };

class SimulatedCrash extends Error {}

/** Runs a batch on a store whose process "dies" at `stage`, then opens the store afresh. */
const crashBatch: BatchCrash = async (store, operations, stage) => {
  const { root } = store as FsMetadataStore;
  const crashing = createFsMetadataStoreWithHooks(
    { root },
    stage === 'after-commit'
      ? {
          afterIntentCommit: () => {
            throw new SimulatedCrash();
          },
        }
      : {
          beforeCommit: (kind) => {
            if (kind === 'intent') throw new SimulatedCrash();
          },
        },
  );
  try {
    await crashing.batch(operations);
  } catch (error) {
    if (!(error instanceof SimulatedCrash)) throw error;
  }
  return createFsMetadataStore({ root });
};

describeArtifactStore('fs', () => createFsArtifactStore({ root: tempRoot() }), { runner });
describeMetadataStore('fs', () => createFsMetadataStore({ root: tempRoot() }), {
  runner,
  crashBatch,
});
describeArtifactStore('fsBackend', () => fsBackend({ root: tempRoot() }).artifacts, { runner });
describeMetadataStore('fsBackend', () => fsBackend({ root: tempRoot() }).metadata, {
  runner,
  crashBatch,
});
