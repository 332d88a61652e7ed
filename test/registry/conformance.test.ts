import { describe, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { describeRegistry } from '../../src/testing/registry-suite.js';

describeRegistry('memory', () => memoryBackend(), { runner: { describe, it } });
