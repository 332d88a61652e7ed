/** Child process of the PostgreSQL multi-process tests: `count` compare-and-swap increments of one key. */
import { isKeelError } from '../../../src/core/errors.js';
import { createPostgresMetadataStore } from '../../../src/postgres.js';

const [url, schema, countText] = process.argv.slice(2);
if (url === undefined || schema === undefined || countText === undefined) {
  throw new Error('usage: cas.ts <url> <schema> <count>');
}
const store = createPostgresMetadataStore({ connectionString: url, schema });
let conflicts = 0;
for (let i = 0; i < Number(countText); i++) {
  for (;;) {
    const current = await store.get('counter');
    const next = ((current?.value as number | undefined) ?? 0) + 1;
    try {
      await store.put('counter', next, { ifRevision: current?.revision ?? null });
      break;
    } catch (error) {
      if (!isKeelError(error, 'KEEL_CONFLICT')) throw error;
      conflicts++;
    }
  }
}
await store.close();
process.stdout.write(JSON.stringify({ conflicts }));
