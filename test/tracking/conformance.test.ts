import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { describeTracker } from '../../src/testing/tracker-suite.js';

const runner = { describe, it };
const roots: string[] = [];
afterAll(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

describeTracker('memory', () => memoryBackend(), { runner });
describeTracker(
  'fs',
  () => {
    const root = mkdtempSync(join(tmpdir(), 'keel-tracker-'));
    roots.push(root);
    return fsBackend({ root });
  },
  { runner },
);
