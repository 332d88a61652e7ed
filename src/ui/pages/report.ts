/**
 * @module
 * `/reports/<digest>`: a stored report drawn with `keel/report`: a gate report (media type
 * `application/vnd.keel.gate-report+json`, e.g. the evidence of an alias move), a drift report
 * or a pipeline result (their media types in `keel/report`), or JSON shaped like one of them.
 */
import { getJson } from '../../artifacts/json.js';
import { ValidationError } from '../../core/errors.js';
import type { DetectDriftReport } from '../../drift/dataset.js';
import { GATE_REPORT_MEDIA_TYPE } from '../../gates/report.js';
import type { GateReport } from '../../gates/types.js';
import type { PipelineResult } from '../../pipeline/types.js';
import { driftReportBody } from '../../report/drift.js';
import { gateReportBody } from '../../report/gate.js';
import { DRIFT_REPORT_MEDIA_TYPE, PIPELINE_RUN_MEDIA_TYPE } from '../../report/media-types.js';
import { pipelineRunBody } from '../../report/pipeline.js';
import type { Page } from '../context.js';
import { storedArtifact } from './shared.js';

/** A stored report. */
export const reportPage: Page = async ({ keel, params, href }) => {
  const meta = await storedArtifact(keel, params[0]!);
  const digest = meta.digest;
  const value = (await getJson(keel.artifacts, digest)) as Record<string, unknown>;
  const kind = reportKind(meta.mediaType, value);
  const crumbs = [['Reports'], [digest.slice(7, 19)]] as const;
  if (kind === 'gate') {
    const title = `Gate report ${String(value.policy)}`;
    const report = { ...(value as unknown as GateReport), digest };
    return { kind: 'html', title, crumbs, body: gateReportBody(report, { title }) };
  }
  if (kind === 'drift') {
    const title = 'Drift report';
    return {
      kind: 'html',
      title,
      crumbs,
      charts: true,
      body: driftReportBody(value as unknown as DetectDriftReport, { title }),
    };
  }
  if (kind === 'pipeline') {
    const title = `Pipeline run ${String(value.pipeline)}`;
    return {
      kind: 'html',
      title,
      crumbs,
      body: pipelineRunBody(value as unknown as PipelineResult, {
        title,
        runHref: (id) => href(['runs', id]),
      }),
    };
  }
  throw new ValidationError(
    `[keel] artifact ${digest} (${meta.mediaType}) is not a drift, gate or pipeline report; download it from its run instead`,
  );
};

function reportKind(
  mediaType: string,
  value: Record<string, unknown>,
): 'gate' | 'drift' | 'pipeline' | undefined {
  if (mediaType === GATE_REPORT_MEDIA_TYPE) return 'gate';
  if (mediaType === DRIFT_REPORT_MEDIA_TYPE) return 'drift';
  if (mediaType === PIPELINE_RUN_MEDIA_TYPE) return 'pipeline';
  if (typeof value !== 'object' || value === null) return undefined;
  if ('policy' in value && 'results' in value) return 'gate';
  if ('columns' in value && 'driftShare' in value) return 'drift';
  if ('pipeline' in value && 'steps' in value) return 'pipeline';
  return undefined;
}
