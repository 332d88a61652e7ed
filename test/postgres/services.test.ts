import { describe, it } from 'vitest';
import { describeRegistry } from '../../src/testing/registry-suite.js';
import { describeTracker } from '../../src/testing/tracker-suite.js';
import { describePg, freshBackend } from './helpers.js';

const runner = { describe, it };

describePg('PostgreSQL', () => {
  describeTracker('postgres', () => freshBackend('tracker'), { runner });
  describeRegistry('postgres', () => freshBackend('registry'), { runner });
});
