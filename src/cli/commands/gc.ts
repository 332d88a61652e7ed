/**
 * @module
 * `keel gc [--dry-run]`: removes the blobs nothing references (`registry.gc`). The registry
 * knows its own references; the command adds every digest any stored document or log entry
 * names (runs' inputs and outputs, pipeline caches, reports), so it never deletes a blob the
 * store still points at, plus the digests of `--keep` files.
 */
import type { Command } from 'commander';
import { type Digest, isDigest } from '../../core/digest.js';
import { ValidationError } from '../../core/errors.js';
import type { Keel } from '../../keel.js';
import type { GcPlan } from '../../registry/types.js';
import { type CliContext, withKeel } from '../context.js';
import { parseJson, readInputFile } from '../files.js';
import { fields, json, section, table } from '../output.js';
import { progressBar } from '../progress.js';
import { collect, nonNegativeInt } from './options.js';

/** Most unreferenced blobs listed in the table (all of them with --json). */
const MAX_LISTED = 50;
const HOUR_MS = 3_600_000;

interface GcCommandOptions {
  dryRun?: boolean;
  minAgeHours: number;
  releaseArchived?: boolean;
  keep: string[];
  json?: boolean;
}

/** Registers `keel gc`. */
export function registerGc(program: Command, ctx: CliContext): void {
  program
    .command('gc')
    .description(
      'delete the artifacts nothing references: no model version, alias history, run, pipeline or other stored record',
    )
    .option('--dry-run', 'only report what would be deleted')
    .option(
      '--min-age-hours <n>',
      'keep blobs younger than this (a blob just put may be about to be registered)',
      nonNegativeInt,
      24,
    )
    .option('--release-archived', "also delete archived versions' blobs that no alias serves")
    .option(
      '--keep <file>',
      'also keep the digests in this file (a JSON array, or one digest a line); repeatable',
      collect,
      [] as string[],
    )
    .option('--json', 'print the plan as JSON')
    .action(async (opts: GcCommandOptions, command: Command) => {
      const keep = opts.keep.flatMap(readDigests);
      const plan = await withKeel(command, async (keel) => {
        const references = new Set<Digest>(keep);
        await addStoredReferences(keel, references);
        return keel.registry.gc({
          dryRun: opts.dryRun === true,
          references,
          minAgeMs: opts.minAgeHours * HOUR_MS,
          releaseArchived: opts.releaseArchived === true,
        });
      });
      ctx.output.out(opts.json ? json(plan) : showPlan(plan));
    });
}

/** The digests in a `--keep` file. */
function readDigests(path: string): Digest[] {
  const bytes = readInputFile(path);
  const text = new TextDecoder().decode(bytes).trim();
  const values = text.startsWith('[')
    ? (parseJson(path, bytes) as unknown[])
    : text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== '');
  return values.map((value, i) => {
    if (!isDigest(value)) {
      throw new ValidationError(
        `[keel] ${path}: entry ${i + 1} is not a digest (sha256:<64 hex>): ${JSON.stringify(value).slice(0, 80)}`,
      );
    }
    return value;
  });
}

/**
 * Adds every digest named anywhere in the store's documents and logs: a conservative reading
 * of "still referenced" that needs no knowledge of who wrote what.
 */
async function addStoredReferences(keel: Keel, references: Set<Digest>): Promise<void> {
  const progress = progressBar('collecting references');
  let records = 0;
  const tick = (): void => {
    records++;
    if ((records & 0xff) === 0) progress.update(records, 0, `${references.size} digests`);
  };
  try {
    for await (const doc of keel.metadata.list('')) {
      collectDigests(doc.value, references);
      tick();
    }
    const listLogs = keel.metadata.listLogs?.bind(keel.metadata);
    if (listLogs === undefined) {
      throw new ValidationError(
        '[keel] gc: this MetadataStore cannot list its logs, so the command cannot tell which blobs pipeline and run logs still use; run gc from code with { references }',
      );
    }
    for await (const log of listLogs('')) {
      for await (const record of keel.metadata.read(log)) {
        collectDigests(record.entry, references);
        tick();
      }
    }
  } finally {
    progress.finish();
  }
}

function collectDigests(value: unknown, into: Set<Digest>): void {
  if (typeof value === 'string') {
    if (isDigest(value)) into.add(value);
  } else if (Array.isArray(value)) {
    for (const item of value) collectDigests(item, into);
  } else if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) collectDigests(item, into);
  }
}

function showPlan(plan: GcPlan): string {
  const listed = plan.unreferenced.slice(0, MAX_LISTED);
  return [
    fields([
      ['mode', plan.dryRun ? 'dry run (nothing deleted)' : 'deleted'],
      ['blobs scanned', plan.scanned],
      ['referenced', plan.referenced],
      ['too young to delete', plan.tooYoung],
      ['unreferenced', `${plan.unreferenced.length} (${plan.bytes} bytes)`],
      ['deleted', plan.dryRun ? undefined : plan.deleted.length],
    ]),
    plan.unreferenced.length
      ? section(
          plan.unreferenced.length > MAX_LISTED
            ? `Unreferenced (first ${MAX_LISTED}; --json lists all)`
            : 'Unreferenced',
          table(
            ['DIGEST', 'SIZE', 'CREATED'],
            listed.map((b) => [b.digest, b.size, b.createdAt]),
          ),
        )
      : '',
  ].join('');
}
