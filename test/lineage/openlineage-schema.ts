/**
 * Validates OpenLineage events with ajv (draft 2020-12) against the vendored 2-0-2 schemas
 * (test/fixtures/openlineage/) and keel's own facet schema (docs/openlineage-facets.json):
 * the event, each standard facet container, and every facet by its `_schemaURL`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { repoRoot } from '../helpers/run-ts.js';

type SchemaDoc = Record<string, unknown> & { $id: string };
const read = (path: string): SchemaDoc =>
  JSON.parse(readFileSync(join(repoRoot, path), 'utf8')) as SchemaDoc;
const fixture = (name: string): SchemaDoc => read(`test/fixtures/openlineage/${name}.json`);

const core = fixture('OpenLineage');
const facetFiles = {
  run: [fixture('ParentRunFacet'), fixture('ErrorMessageRunFacet')],
  job: [fixture('JobTypeJobFacet')],
  dataset: [fixture('DatasetVersionDatasetFacet')],
};
const keelFacets = read('docs/openlineage-facets.json');

// ajv-formats is CommonJS: its function is the module itself or its default export
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ??
  addFormatsModule) as (ajv: Ajv2020) => Ajv2020;
// the spec's schemas are not written for ajv's strict mode (e.g. `required` under `not`)
const ajv = new Ajv2020({ allErrors: true, strict: false });
addFormats(ajv);
ajv.addSchema(core);
// DatasetVersionDatasetFacet 1-0-0 names core 1-0-2, whose DatasetFacet is 2-0-2's (see README)
ajv.addSchema({ ...core, $id: 'https://openlineage.io/spec/1-0-2/OpenLineage.json' });
for (const doc of [...facetFiles.run, ...facetFiles.job, ...facetFiles.dataset, keelFacets])
  ajv.addSchema(doc);

const validateEvent = ajv.getSchema(core.$id)!;
const containers = (docs: SchemaDoc[]): ValidateFunction[] =>
  docs.map((doc) => ajv.getSchema(doc.$id)!);
const runContainers = containers(facetFiles.run);
const jobContainers = containers(facetFiles.job);
const datasetContainers = containers(facetFiles.dataset);

/** The facet versions keel names, mapped to the vendored revision where it differs. */
const ALIASES: Record<string, string> = {
  'https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet':
    'https://openlineage.io/spec/facets/1-0-0/DatasetVersionDatasetFacet.json#/$defs/DatasetVersionDatasetFacet',
};

/** Every schema problem of one event (an empty list: it validates). */
export function openLineageProblems(event: unknown): string[] {
  const problems: string[] = [];
  const check = (validate: ValidateFunction, value: unknown, where: string): void => {
    if (!validate(value))
      for (const e of validate.errors ?? [])
        problems.push(`${where}${e.instancePath} ${e.message} (${e.schemaPath})`);
  };
  check(validateEvent, event, 'event');
  const e = event as {
    run?: { facets?: Record<string, unknown> };
    job?: { facets?: Record<string, unknown> };
    inputs?: { facets?: Record<string, unknown> }[];
    outputs?: { facets?: Record<string, unknown> }[];
  };
  const facetsOf = (
    facets: Record<string, unknown> | undefined,
    known: ValidateFunction[],
    where: string,
  ): void => {
    if (!facets) return;
    for (const validate of known) check(validate, facets, where);
    for (const [key, facet] of Object.entries(facets)) {
      const url = (facet as { _schemaURL?: unknown })._schemaURL;
      if (typeof url !== 'string') {
        problems.push(`${where}.${key} has no _schemaURL`);
        continue;
      }
      const validate = ajv.getSchema(ALIASES[url] ?? url);
      if (!validate) problems.push(`${where}.${key}: no vendored schema for ${url}`);
      else check(validate, facet, `${where}.${key}`);
    }
  };
  facetsOf(e.run?.facets, runContainers, 'run.facets');
  facetsOf(e.job?.facets, jobContainers, 'job.facets');
  for (const [i, d] of (e.inputs ?? []).entries())
    facetsOf(d.facets, datasetContainers, `inputs[${i}].facets`);
  for (const [i, d] of (e.outputs ?? []).entries())
    facetsOf(d.facets, datasetContainers, `outputs[${i}].facets`);
  return problems;
}
