/**
 * @module
 * `/artifacts/<digest>?name=<file name>`: an artifact's bytes as a download, verified against
 * their digest as they stream (a mismatch ends the response early rather than serving wrong
 * bytes as complete).
 */
import { isDigest } from '../../core/digest.js';
import { NotFoundError } from '../../core/errors.js';
import type { Page } from '../context.js';

/** An artifact download. */
export const artifactDownload: Page = async ({ keel, params, query }) => {
  const digest = params[0]!;
  if (!isDigest(digest))
    throw new NotFoundError(
      `[keel] no artifact at ${digest}: not a digest (sha256:<64 hex>); check the link`,
    );
  const meta = await keel.artifacts.stat(digest);
  if (!meta) throw new NotFoundError(`[keel] no artifact ${digest} in the store`);
  const name = query.get('name') || digest.slice(7, 19);
  return { kind: 'download', filename: name, size: meta.size, body: keel.artifacts.stream(digest) };
};
