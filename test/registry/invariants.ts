/**
 * The audit log against the registry's documents: every model, version, archive, alias move
 * and approval has exactly one `ok` audit entry, and every `ok` entry describes one of them.
 */
import type { MetadataStore } from '../../src/metadata/types.js';
import { AUDIT_LOG } from '../../src/registry/records.js';
import type { AliasChange, Approval, AuditEntry, ModelVersion } from '../../src/registry/types.js';

/** The differences between the audit log and the documents, in words (empty: they agree). */
export async function auditProblems(metadata: MetadataStore): Promise<string[]> {
  const entries: AuditEntry[] = [];
  for await (const { entry } of metadata.read(AUDIT_LOG))
    entries.push(entry as unknown as AuditEntry);
  const ok = entries.filter((e) => e.details.outcome === 'ok');
  const said = (action: string, key: (e: AuditEntry) => string): string[] =>
    ok.filter((e) => e.action === action).map(key);
  const problems: string[] = [];
  const compare = (what: string, state: string[], audited: string[]): void => {
    const a = [...state].sort();
    const b = [...audited].sort();
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      problems.push(`${what}: documents ${JSON.stringify(a)} but audit ${JSON.stringify(b)}`);
    }
  };

  const models: string[] = [];
  for await (const { key } of metadata.list('registry/models/')) models.push(key.slice(16));
  compare(
    'models',
    models,
    said('model:create', (e) => e.resource.model ?? '?'),
  );

  const versions: string[] = [];
  const archived: string[] = [];
  for await (const { value } of metadata.list('registry/versions/')) {
    const v = value as unknown as ModelVersion;
    versions.push(`${v.model}@${v.version}`);
    if (v.status === 'archived') archived.push(`${v.model}@${v.version}`);
  }
  const at = (e: AuditEntry) => `${e.resource.model}@${e.resource.version}`;
  compare('versions', versions, said('version:register', at));
  compare('archives', archived, said('version:archive', at));

  const moves: string[] = [];
  for await (const { value } of metadata.list('registry/aliases/')) {
    const history = (value as unknown as { history: AliasChange[] }).history;
    for (const [i, c] of history.entries())
      moves.push(`${c.model}/${c.alias}#${i} ${c.kind} ${c.version}`);
  }
  const audited: string[] = [];
  const seen = new Map<string, number>();
  for (const e of ok.filter((x) => x.action.startsWith('alias:'))) {
    const id = `${e.resource.model}/${e.resource.alias}`;
    const i = seen.get(id) ?? 0;
    seen.set(id, i + 1);
    audited.push(`${id}#${i} ${e.action.slice(6)} ${e.resource.version ?? null}`);
  }
  compare('alias moves', moves, audited);

  const approvals: string[] = [];
  for await (const { value } of metadata.list('registry/approvals/')) {
    for (const a of (value as unknown as { approvals: Approval[] }).approvals) {
      approvals.push(`${a.model}@${a.version}/${a.alias} by ${a.actor.id}`);
    }
  }
  compare(
    'approvals',
    approvals,
    said('version:approve', (e) => `${at(e)}/${e.resource.alias} by ${e.actor.id}`),
  );
  return problems;
}
