/**
 * The example adapter of docs/adapters.md (examples/custom-adapter.ts) passes every
 * conformance suite keel ships, as any adapter must.
 */
import { describe, it } from 'vitest';
import {
  createMapArtifactStore,
  createMapMetadataStore,
  mapBackend,
} from '../../examples/custom-adapter.js';
import {
  describeArtifactStore,
  describeMetadataStore,
  describeRegistry,
  describeTracker,
} from '../../src/testing.js';

const runner = { describe, it };
const noCrash = 'a Map store keeps nothing across a crash: there is no recovery to check';

describeMetadataStore('example Map adapter', () => createMapMetadataStore(), {
  runner,
  skip: {
    'batch: a crash after the batch committed, before it applied: all of it shows after reopening':
      noCrash,
    'batch: a crash while the batch was being decided: none of it shows after reopening': noCrash,
  },
});
describeArtifactStore('example Map adapter', () => createMapArtifactStore(), { runner });
describeRegistry('example Map adapter', () => mapBackend(), { runner });
describeTracker('example Map adapter', () => mapBackend(), { runner });
