/**
 * @module
 * What `createMonitor` needs to run as a replica of a monitor group: the group's settings and
 * store from the options, the calibrated engine behind a drift engine, and the events of a
 * check judged for the group.
 */
import { ValidationError } from '../../core/errors.js';
import type { MetadataStore } from '../../metadata/types.js';
import { modelNameSchema } from '../../registry/schemas.js';
import {
  type ReplicaOptionValues,
  type ReplicaSettings,
  replicaSettings,
} from '../replicas/options.js';
import { CalibratedEngine } from './calibrated-engine.js';
import { DeferredEngine } from './deferred-engine.js';
import type { DriftEngine } from './engine.js';
import type { JudgedCheck } from './group.js';
import type { DriftDetected, DriftResolved, MonitorCheck } from './types.js';

/**
 * The settings of validated `replicas` options; the group defaults to the monitor's name.
 *
 * @throws {ValidationError} when the name cannot name a group and no `replicas.group` is given.
 */
export function groupSettings(
  replicas: ReplicaOptionValues | undefined,
  name: string,
): ReplicaSettings | undefined {
  if (replicas?.group === undefined && replicas !== undefined) {
    if (!modelNameSchema.safeParse(name).success) {
      throw new ValidationError(
        `[keel] invalid monitor options: the monitor name "${name.slice(0, 64)}" cannot name a replica group (letters, digits, . _ -); pass replicas.group`,
        {
          issues: [
            {
              path: ['replicas', 'group'],
              message: 'required: the name is not a valid group name',
            },
          ],
        },
      );
    }
  }
  return replicaSettings(replicas, name);
}

/**
 * The store a group shares: `replicas.store`, else the keel's metadata store.
 *
 * @throws {ValidationError} when neither is a MetadataStore.
 */
export function groupStore(given: unknown, fallback: MetadataStore | undefined): MetadataStore {
  const store = (given ?? fallback) as Partial<MetadataStore> | undefined;
  if (!store || typeof store.put !== 'function' || typeof store.list !== 'function') {
    throw new ValidationError(
      '[keel] invalid monitor options: replicas needs a MetadataStore; pass replicas.store or a keel with a metadata store',
      { issues: [{ path: ['replicas', 'store'], message: 'expected a MetadataStore' }] },
    );
  }
  return store as MetadataStore;
}

/** The calibrated engine behind `engine`, once its reference is read (undefined for `evidently`). */
export function calibratedOf(engine: DriftEngine): CalibratedEngine | undefined {
  if (engine instanceof CalibratedEngine) return engine;
  return engine instanceof DeferredEngine ? engine.engine : undefined;
}

/** The payloads of a judged check: `check`, and the episode's event when it opened or closed one. */
export function judgedEvents(
  name: string,
  judged: JudgedCheck,
): { check: MonitorCheck; detected?: DriftDetected; resolved?: DriftResolved } {
  const { result, window, at, change } = judged;
  const check: MonitorCheck = {
    name,
    report: result.report,
    rows: result.rows,
    predictions: judged.predictions,
    mismatched: {
      rows: window.mismatched.rows,
      columns: Object.fromEntries(
        window.columns.map((c, j) => [c.name, window.mismatched.columns[j]!]),
      ),
    },
    at,
    status: judged.status,
  };
  if (change?.kind === 'started') {
    const detected = {
      ...check,
      columns: result.alarms,
      findings: result.findings,
      episode: change.episode,
    };
    return { check, detected };
  }
  if (change?.kind === 'resolved') {
    return { check, resolved: { name, episode: change.episode, report: result.report, at } };
  }
  return { check };
}
