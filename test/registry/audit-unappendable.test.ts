/**
 * Issue 12, §2: when the audit log cannot be appended to (one flipped byte in a record, the last
 * record cut off, a forged record at the end), `registerVersion`, `setAlias` and `archiveVersion`
 * fail saying nothing was changed, and nothing was: no version, no alias move, no archive, so a
 * retry cannot create a duplicate. On the fs store, the log file edited on disk.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { createMemoryArtifactStore } from '../../src/backends/memory/artifact-store.js';
import { isKeelError } from '../../src/core/errors.js';
import type { JsonValue } from '../../src/core/json.js';
import { createKeel, type Keel } from '../../src/keel.js';
import { createRegistry } from '../../src/registry/registry.js';
import { tempRoot } from '../fs/helpers.js';
import { forgedAfter, modes, tamperableStore } from './stores.js';

const opened: Keel[] = [];
afterAll(async () => {
  for (const keel of opened) await keel.close();
});

const auditFile = (root: string) => join(root, 'metadata/logs/registry/audit.log');

/** A store with model m: versions 1 and 2, prod -> 1. */
async function setup(): Promise<{ root: string; open: () => Keel }> {
  const root = tempRoot('keel-audit-stuck-');
  const open = () => {
    const keel = createKeel({ backend: fsBackend({ root }), actor: { id: 'ana' } });
    opened.push(keel);
    return keel;
  };
  const keel = open();
  const { digest } = await keel.artifacts.put('weights');
  await keel.registry.registerVersion('m', { artifact: digest });
  await keel.registry.registerVersion('m', { artifact: digest });
  await keel.registry.setAlias('m', 'prod', 1);
  return { root, open };
}

/** A log line with a correct checksum: `<offset> <count> <crc32> <rest>`. */
function line(offset: number, rest: string): string {
  const head = `${offset} 1 `;
  const [writer, ...json] = rest.split(' ');
  const body = `${writer} ${json.join(' ')}`;
  return `${head}${crc32(body, crc32(head)).toString(16).padStart(8, '0')} ${body}`;
}

const damage: Record<string, (root: string) => void> = {
  'one flipped byte in the last record': (root) => {
    const bytes = readFileSync(auditFile(root));
    const at = bytes.length - 20;
    bytes[at] = bytes[at]! ^ 0x04;
    writeFileSync(auditFile(root), bytes);
  },
  'the last record removed': (root) => {
    const lines = readFileSync(auditFile(root), 'utf8').split('\n');
    lines.splice(lines.length - 2, 1);
    writeFileSync(auditFile(root), lines.join('\n'));
  },
  'a correctly chained record forged at the end': (root) => {
    const lines = readFileSync(auditFile(root), 'utf8').split('\n').filter(Boolean);
    const last = lines[lines.length - 1]!;
    const [offset, count, , writer, ...json] = last.split(' ');
    const entries = JSON.parse(json.join(' ')) as JsonValue[];
    const forged = forgedAfter(entries[entries.length - 1]!);
    const next = Number(offset) + Number(count);
    lines.push(line(next, `${writer} ${JSON.stringify([forged])}`));
    writeFileSync(auditFile(root), `${lines.join('\n')}\n`);
  },
};

describe.each(Object.keys(damage))('the audit log cannot be appended: %s', (name) => {
  it('registerVersion, setAlias and archiveVersion change nothing and say so', async () => {
    const { root, open } = await setup();
    expect(readdirSync(join(root, 'metadata/logs/registry'))).toContain('audit.log');
    damage[name]!(root);
    const keel = open();
    const { digest } = await keel.artifacts.put('weights');
    const attempts: Array<[string, () => Promise<unknown>]> = [
      ['registerVersion', () => keel.registry.registerVersion('m', { artifact: digest })],
      ['setAlias', () => keel.registry.setAlias('m', 'prod', 2)],
      ['archiveVersion', () => keel.registry.archiveVersion('m', 2)],
    ];
    for (const [what, attempt] of attempts) {
      const error = await attempt().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isKeelError(error), `${what}: ${String(error)}`).toBe(true);
      expect((error as Error).message, what).toMatch(/nothing was changed/);
    }
    const { versions } = await keel.registry.listVersions('m');
    expect(versions.map((v) => [v.version, v.status])).toEqual([
      [1, 'ready'],
      [2, 'ready'],
    ]);
    expect((await keel.registry.resolve('m', 'prod')).version).toBe(1);
    expect((await keel.registry.verifyAudit()).ok).toBe(false);
  });
});

describe.each(modes)('entries removed from the end of the audit log (memory, %s)', (mode) => {
  it('a write fails at once, saying so, instead of retrying for 30 s', async () => {
    const { store, log } = tamperableStore(mode);
    const artifacts = createMemoryArtifactStore();
    const registry = createRegistry({ metadata: store, artifacts });
    const { digest } = await artifacts.put('weights');
    await registry.registerVersion('m', { artifact: digest });
    await registry.registerVersion('m', { artifact: digest });
    log.length -= 1;
    const error = await registry
      .registerVersion('m', { artifact: digest })
      .catch((e: unknown) => e);
    expect(isKeelError(error, 'KEEL_INTEGRITY')).toBe(true);
    expect((error as Error).message).toMatch(
      /entries were removed from the end; nothing was changed/,
    );
    expect((await registry.listVersions('m')).versions.map((v) => v.version)).toEqual([1, 2]);
  });
});
