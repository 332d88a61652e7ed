/**
 * @module
 * Where pipeline runs keep their state: cache entries and each step's last key parts
 * (MetadataStore documents), one append-only log per run (what resume reads), and step
 * outputs as canonical JSON artifacts, verified whenever they are reused.
 */
import { z } from 'zod';
import { getJson, JSON_MEDIA_TYPE } from '../artifacts/json.js';
import type { ArtifactStore } from '../artifacts/types.js';
import type { Digest } from '../core/digest.js';
import { isKeelError, NotFoundError, ValidationError } from '../core/errors.js';
import type { JsonValue } from '../core/json.js';
import { digestSchema } from '../core/schemas.js';
import type { MetadataStore } from '../metadata/types.js';
import type { CacheKeyParts, StepStatus } from './types.js';

/** A cached step output: what produced it and where it is. */
export interface CacheEntry {
  key: Digest;
  parts: CacheKeyParts;
  /** The output artifact; `null` when the step returned `undefined`. */
  output: Digest | null;
  /** Artifacts the output references: each must exist and verify for a hit. */
  refs: Digest[];
  /** The step run that produced it. */
  runId: string;
  createdAt: string;
}

/** The last key of a step (whatever the outcome), for explaining the next miss. */
export interface LastKey {
  key: Digest;
  parts: CacheKeyParts;
  runId: string;
}

/** One step's record in a run log. */
export interface StepRecord {
  type: 'step';
  step: string;
  status: StepStatus;
  /** The stored output (`null`: the step returned `undefined`); absent when not stored. */
  output?: Digest | null;
  /** Digest of each argument the step received, when it had one. */
  inputs: Record<string, Digest>;
  runId?: string;
  attempts: number;
  cached: boolean;
  durationMs: number;
}

/** The first record of a run log. */
export interface StartRecord {
  type: 'start';
  pipeline: string;
  runId: string;
  inputDigest?: Digest;
  resumedFrom?: string;
  startedAt: string;
}

/** What resume needs from an earlier run. */
export interface RunLog {
  start: StartRecord;
  /** The last record of each step. */
  steps: Map<string, StepRecord>;
}

/** Pipeline state in one keel: typed access to the documents, logs and output artifacts. */
export interface PipelineStore {
  readCacheEntry(key: Digest): Promise<CacheEntry | undefined>;
  writeCacheEntry(entry: CacheEntry): Promise<void>;
  readLastKey(step: string): Promise<LastKey | undefined>;
  writeLastKey(step: string, last: LastKey): Promise<void>;
  appendRunLog(runId: string, records: (StartRecord | StepRecord | EndRecord)[]): Promise<void>;
  readRunLog(runId: string): Promise<RunLog>;
  /** Stores canonical JSON text as an artifact; returns its digest. */
  putOutput(json: string, step: string): Promise<Digest>;
  /** Reads (and verifies) a stored output; `null` stands for `undefined`. */
  getOutput(digest: Digest | null): Promise<unknown>;
  /** `undefined` when every artifact exists and verifies, else why not. */
  checkRefs(refs: readonly Digest[]): Promise<string | undefined>;
}

/** The last record of a run log. */
export interface EndRecord {
  type: 'end';
  status: 'completed' | 'failed' | 'aborted';
  durationMs: number;
}

/** Opens the state of pipeline `pipeline` over the two stores. */
export function createPipelineStore(
  pipeline: string,
  metadata: MetadataStore,
  artifacts: ArtifactStore,
): PipelineStore {
  const root = `pipelines/${pipeline}`;
  return {
    async readCacheEntry(key) {
      const doc = await metadata.get(`${root}/cache/${key.slice(7)}`);
      if (!doc) return undefined;
      const parsed = cacheEntrySchema.safeParse(doc.value);
      return parsed.success ? (parsed.data as CacheEntry) : undefined;
    },
    async writeCacheEntry(entry) {
      await metadata.put(`${root}/cache/${entry.key.slice(7)}`, entry as unknown as JsonValue);
    },
    async readLastKey(step) {
      const doc = await metadata.get(`${root}/last/${step}`);
      if (!doc) return undefined;
      const parsed = lastKeySchema.safeParse(doc.value);
      return parsed.success ? (parsed.data as LastKey) : undefined;
    },
    async writeLastKey(step, last) {
      await metadata.put(`${root}/last/${step}`, last as unknown as JsonValue);
    },
    async appendRunLog(runId, records) {
      await metadata.append(`${root}/runs/${runId}`, records as unknown as JsonValue[]);
    },
    async readRunLog(runId) {
      if (!RUN_ID.test(runId)) {
        throw new ValidationError(
          `[keel] invalid resumeFrom ${JSON.stringify(runId.slice(0, 80))}: not a run id; pass result.runId of an earlier run`,
        );
      }
      let start: StartRecord | undefined;
      const steps = new Map<string, StepRecord>();
      for await (const { entry } of metadata.read(`${root}/runs/${runId}`)) {
        const record = recordSchema.safeParse(entry);
        if (!record.success) continue;
        if (record.data.type === 'start') start ??= record.data as StartRecord;
        else if (record.data.type === 'step')
          steps.set(record.data.step, record.data as StepRecord);
      }
      if (!start) {
        throw new NotFoundError(
          `[keel] cannot resume pipeline "${pipeline}" from run ${runId}: no such run of this pipeline; pass result.runId of an earlier run of "${pipeline}"`,
        );
      }
      return { start, steps };
    },
    async putOutput(json, step) {
      const meta = await artifacts.put(json, {
        mediaType: JSON_MEDIA_TYPE,
        annotations: { 'keel.pipeline': pipeline, 'keel.step': step },
      });
      return meta.digest;
    },
    async getOutput(digest) {
      if (digest === null) return undefined;
      return getJson(artifacts, digest);
    },
    async checkRefs(refs) {
      for (const ref of refs) {
        try {
          // Draining the stream verifies the bytes against the digest at its end.
          for await (const _chunk of artifacts.stream(ref)) {
            // nothing to keep
          }
        } catch (error) {
          if (isKeelError(error, 'KEEL_NOT_FOUND')) return `referenced artifact ${ref} is gone`;
          if (isKeelError(error, 'KEEL_INTEGRITY')) {
            return `referenced artifact ${ref} no longer matches its digest`;
          }
          throw error;
        }
      }
      return undefined;
    },
  };
}

const RUN_ID = /^[A-Za-z0-9_-]{1,128}$/;

const partsSchema = z.object({
  pipeline: z.string(),
  step: z.string(),
  version: z.string(),
  inputs: z.record(z.string(), digestSchema),
});

const cacheEntrySchema = z.object({
  key: digestSchema,
  parts: partsSchema,
  output: digestSchema.nullable(),
  refs: z.array(digestSchema),
  runId: z.string(),
  createdAt: z.string(),
});

const lastKeySchema = z.object({ key: digestSchema, parts: partsSchema, runId: z.string() });

const recordSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('start'),
    pipeline: z.string(),
    runId: z.string(),
    inputDigest: digestSchema.optional(),
    resumedFrom: z.string().optional(),
    startedAt: z.string(),
  }),
  z.object({
    type: z.literal('step'),
    step: z.string(),
    status: z.enum(['completed', 'failed', 'skipped', 'copied']),
    output: digestSchema.nullable().optional(),
    inputs: z.record(z.string(), digestSchema),
    runId: z.string().optional(),
    attempts: z.number(),
    cached: z.boolean(),
    durationMs: z.number(),
  }),
  z.object({ type: z.literal('end'), status: z.string(), durationMs: z.number() }),
]);
