import { describe, it } from 'vitest';
import { describeMetadataStore } from '../../src/testing/metadata-store-suite.js';
import { describePg, freshStore } from './helpers.js';

describePg('PostgreSQL', () => {
  describeMetadataStore('postgres', () => freshStore('conf'), { runner: { describe, it } });
});
