import { describe, expect, it } from 'vitest';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { createMemoryMetadataStore } from '../../src/backends/memory/metadata-store.js';
import { describeArtifactStore } from '../../src/testing/artifact-store-suite.js';
import { describeMetadataStore } from '../../src/testing/metadata-store-suite.js';

describeArtifactStore('memory', () => createMemoryArtifactStore(), { runner: { describe, it } });
// The runner's functions may also be passed directly, as `{ describe, it, expect }`.
describeMetadataStore('memory', () => createMemoryMetadataStore(), { describe, it, expect });
