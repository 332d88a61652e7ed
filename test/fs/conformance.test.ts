import { describe, it } from 'vitest';
import { createFsArtifactStore } from '../../src/backends/fs/artifact-store.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createFsMetadataStore } from '../../src/backends/fs/metadata-store.js';
import { describeArtifactStore } from '../../src/testing/artifact-store-suite.js';
import { describeMetadataStore } from '../../src/testing/metadata-store-suite.js';
import { tempRoot } from './helpers.js';

const runner = { describe, it };

describeArtifactStore('fs', () => createFsArtifactStore({ root: tempRoot() }), { runner });
describeMetadataStore('fs', () => createFsMetadataStore({ root: tempRoot() }), { runner });
describeArtifactStore('fsBackend', () => fsBackend({ root: tempRoot() }).artifacts, { runner });
describeMetadataStore('fsBackend', () => fsBackend({ root: tempRoot() }).metadata, { runner });
