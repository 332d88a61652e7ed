/**
 * The quickstart demo (`npm run demo`): stores a model's bytes and its config in keel's
 * content-addressed store, records a document and a log, and prints what went where.
 */
import { createKeel, getJson, memoryBackend, putJson } from '../src/index.js';

export async function main(): Promise<void> {
  const keel = createKeel({ backend: memoryBackend(), actor: { id: 'demo' } });
  const weights = await keel.artifacts.put(new Uint8Array(1024).fill(7), {
    mediaType: 'application/octet-stream',
  });
  const config = await putJson(keel.artifacts, { model: 'churn', lr: 0.01, epochs: 5 });
  await keel.metadata.put(
    'demo/latest',
    { weights: weights.digest, config: config.digest },
    { ifRevision: null },
  );
  await keel.metadata.append('demo/log', [
    { event: 'stored', at: new Date(keel.clock.now()).toISOString() },
  ]);

  console.log('keel quickstart (memory backend)');
  console.log(`  weights  ${weights.digest}  ${weights.size} bytes`);
  console.log(
    `  config   ${config.digest}  ${JSON.stringify(await getJson(keel.artifacts, config.digest))}`,
  );
  console.log(
    `  document demo/latest -> ${JSON.stringify((await keel.metadata.get('demo/latest'))?.value)}`,
  );
  await keel.close();
}

await main();
