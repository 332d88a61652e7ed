import { describe, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { describeArtifactStore } from '../../src/testing/artifact-store-suite.js';
import { describeMetadataStore } from '../../src/testing/metadata-store-suite.js';

describeArtifactStore('memory', () => createMemoryArtifactStore(), { runner: { describe, it } });
describeMetadataStore('memory', () => createMemoryMetadataStore(), { runner: { describe, it } });
