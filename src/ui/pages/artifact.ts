/**
 * @module
 * `/artifacts/<digest>?name=<file name>`: an artifact's bytes as a download, verified against
 * their digest as they stream (a mismatch ends the response early rather than serving wrong
 * bytes as complete).
 */
import type { Page } from '../context.js';
import { storedArtifact } from './shared.js';

/** An artifact download. */
export const artifactDownload: Page = async ({ keel, params, query }) => {
  const meta = await storedArtifact(keel, params[0]!);
  const digest = meta.digest;
  const name = query.get('name') || digest.slice(7, 19);
  return { kind: 'download', filename: name, size: meta.size, body: keel.artifacts.stream(digest) };
};
