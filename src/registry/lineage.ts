/**
 * @module
 * Lineage verification: can this version be rebuilt from immutable inputs? Every digest it
 * references is streamed back through the store's verification, and its run is looked up.
 */
import type { ArtifactStore } from '../artifacts/types.js';
import type { Digest } from '../core/digest.js';
import { isKeelError } from '../core/errors.js';
import type { LineageItem, LineageReport, ModelVersion } from './types.js';

/** Checks one version's artifact, inputs and run. Never throws for a missing or corrupt item. */
export async function verifyVersionLineage(
  artifacts: ArtifactStore,
  version: ModelVersion,
  runExists: ((runId: string) => Promise<boolean>) | undefined,
): Promise<LineageReport> {
  const items: LineageItem[] = [
    await checkBlob(artifacts, 'artifact', version.artifact.digest, version.artifact.size),
  ];
  for (const input of version.inputs)
    items.push(await checkBlob(artifacts, 'input', input.digest, undefined));
  if (version.runId !== undefined) items.push(await checkRun(version.runId, runExists));
  return {
    model: version.model,
    version: version.version,
    ok: items.every((item) => item.status === 'ok' || item.status === 'unchecked'),
    items,
  };
}

async function checkBlob(
  artifacts: ArtifactStore,
  kind: 'artifact' | 'input',
  digest: Digest,
  expectedSize: number | undefined,
): Promise<LineageItem> {
  try {
    let size = 0;
    // Streaming keeps a multi-gigabyte model out of memory; the store verifies by the end.
    for await (const chunk of artifacts.stream(digest)) size += chunk.byteLength;
    if (expectedSize !== undefined && size !== expectedSize) {
      return {
        kind,
        ref: digest,
        status: 'corrupt',
        message: `${size} bytes stored, ${expectedSize} registered`,
      };
    }
    return { kind, ref: digest, status: 'ok' };
  } catch (error) {
    if (isKeelError(error, 'KEEL_NOT_FOUND')) {
      return { kind, ref: digest, status: 'missing', message: 'not in the artifact store' };
    }
    if (isKeelError(error, 'KEEL_INTEGRITY')) {
      return {
        kind,
        ref: digest,
        status: 'corrupt',
        message: 'the stored bytes do not match the digest',
      };
    }
    throw error;
  }
}

async function checkRun(
  runId: string,
  runExists: ((runId: string) => Promise<boolean>) | undefined,
): Promise<LineageItem> {
  if (runExists === undefined) {
    return {
      kind: 'run',
      ref: runId,
      status: 'unchecked',
      message: 'no run lookup configured (runExists)',
    };
  }
  return (await runExists(runId))
    ? { kind: 'run', ref: runId, status: 'ok' }
    : { kind: 'run', ref: runId, status: 'missing', message: 'no such run in the tracker' };
}
