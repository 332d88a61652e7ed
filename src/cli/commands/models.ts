/**
 * @module
 * `keel models list` (every model with its aliases) and `keel models show` (versions,
 * aliases, and each alias's history with actor, reason and evidence).
 */
import type { Command } from 'commander';
import type { Keel } from '../../keel.js';
import type { AliasChange, Model, ModelVersion } from '../../registry/types.js';
import { type CliContext, withKeel } from '../context.js';
import { fields, formatNumber, json, section, table } from '../output.js';

/** Registers `keel models list|show`. */
export function registerModels(program: Command, ctx: CliContext): void {
  const models = program.command('models').description('list registered models and show one');

  models
    .command('list')
    .description('every registered model with its aliases')
    .option('--json', 'print JSON: [{ model, aliases }]')
    .action(async (opts: { json?: boolean }, command: Command) => {
      const listed = await withKeel(command, async (keel) => {
        const all = await everyModel(keel);
        return Promise.all(
          all.map(async (model) => ({
            model,
            aliases: await keel.registry.listAliases(model.name),
          })),
        );
      });
      if (opts.json) {
        ctx.output.out(json(listed));
        return;
      }
      ctx.output.out(
        table(
          ['MODEL', 'ALIASES', 'CREATED', 'BY', 'DESCRIPTION'],
          listed.map(({ model, aliases }) => [
            model.name,
            Object.entries(aliases)
              .map(([alias, version]) => `${alias}=v${version}`)
              .join(' '),
            model.createdAt,
            model.createdBy,
            model.description,
          ]),
        ),
      );
    });

  models
    .command('show')
    .description('a model: its versions, aliases and the history of each alias')
    .argument('<model>', 'the model name')
    .option('--json', 'print JSON: { model, versions, aliases, history }')
    .action(async (name: string, opts: { json?: boolean }, command: Command) => {
      const shown = await withKeel(command, async (keel) => {
        const model = await keel.registry.getModel(name);
        const [versions, aliases] = await Promise.all([
          everyVersion(keel, name),
          keel.registry.listAliases(name),
        ]);
        const history: Record<string, AliasChange[]> = {};
        for (const alias of Object.keys(aliases).sort()) {
          history[alias] = await keel.registry.aliasHistory(name, alias);
        }
        return { model, versions, aliases, history };
      });
      ctx.output.out(opts.json ? json(shown) : showModel(shown));
    });
}

async function everyModel(keel: Keel): Promise<Model[]> {
  const all: Model[] = [];
  let cursor: string | undefined;
  do {
    const page = await keel.registry.listModels({ limit: 1000, ...(cursor ? { cursor } : {}) });
    all.push(...page.models);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

async function everyVersion(keel: Keel, name: string): Promise<ModelVersion[]> {
  const all: ModelVersion[] = [];
  let cursor: string | undefined;
  do {
    const page = await keel.registry.listVersions(name, {
      limit: 1000,
      ...(cursor ? { cursor } : {}),
    });
    all.push(...page.versions);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

function showModel(shown: {
  model: Model;
  versions: ModelVersion[];
  aliases: Record<string, number>;
  history: Record<string, AliasChange[]>;
}): string {
  const { model } = shown;
  const aliasesOf = (version: number): string =>
    Object.entries(shown.aliases)
      .filter(([, v]) => v === version)
      .map(([alias]) => alias)
      .join(' ');
  const parts = [
    fields([
      ['model', model.name],
      ['description', model.description],
      ['created', model.createdAt],
      ['by', model.createdBy],
    ]),
    section(
      'Versions',
      table(
        ['VERSION', 'STATUS', 'ALIASES', 'CREATED', 'RUN', 'METRICS', 'ARTIFACT'],
        shown.versions.map((v) => [
          v.version,
          v.status,
          aliasesOf(v.version),
          v.createdAt,
          v.runId,
          Object.entries(v.metrics)
            .map(([key, value]) => `${key}=${formatNumber(value)}`)
            .join(' '),
          v.artifact.digest,
        ]),
      ),
    ),
  ];
  for (const [alias, changes] of Object.entries(shown.history)) {
    parts.push(
      section(
        `Alias ${alias} (now v${shown.aliases[alias]})`,
        table(
          ['AT', 'CHANGE', 'VERSION', 'ACTOR', 'REASON', 'EVIDENCE'],
          changes.map((c) => [
            c.at,
            c.kind,
            `${c.previousVersion === null ? '-' : `v${c.previousVersion}`} -> ${c.version === null ? '-' : `v${c.version}`}`,
            c.actor.id,
            c.reason,
            c.evidence,
          ]),
        ),
      ),
    );
  }
  return parts.join('');
}
