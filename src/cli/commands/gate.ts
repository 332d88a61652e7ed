/**
 * @module
 * `keel gate <policy.json> <evidence.json>`: judges evidence against a gate policy, prints the
 * verdict (or `--json`), writes an HTML report with `--html`, stores the report when a store is
 * given, and exits 1 on a failing gate only with `--fail-on-fail`.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { JsonValue } from '../../core/json.js';
import { createGateEvaluator } from '../../gates/evaluator.js';
import { decodeEvidence, type Evidence } from '../../gates/evidence.js';
import { formatGateReport } from '../../gates/format.js';
import type { GatePolicy } from '../../gates/schema.js';
import type { GateReport } from '../../gates/types.js';
import { renderGateReport } from '../../report/gate.js';
import { type CliContext, type GlobalOptions, withKeel } from '../context.js';
import { EXIT } from '../exit.js';
import { parseJson, readInputFile } from '../files.js';
import { json, printable } from '../output.js';
import { storeLocation } from '../store.js';

/** Registers `keel gate`. */
export function registerGate(program: Command, ctx: CliContext): void {
  program
    .command('gate')
    .description(
      'judge evidence against a gate policy (exit 1 on a failing gate only with --fail-on-fail)',
    )
    .argument('<policy>', 'the gate policy, a JSON file: { name, rules: [...] } (docs/gates.md)')
    .argument(
      '<evidence>',
      'the evidence, a JSON file: { candidate: { metrics, ... }, champion?, drift? }',
    )
    .option('--json', 'print the gate report as JSON')
    .option('--html <file>', 'write the report as a self-contained HTML page')
    .option('--fail-on-fail', 'exit 1 when the gate decides fail (warn passes)')
    .action(
      async (
        policyPath: string,
        evidencePath: string,
        opts: { json?: boolean; html?: string; failOnFail?: boolean },
        command: Command,
      ) => {
        const policy = parseJson(policyPath, readInputFile(policyPath)) as GatePolicy;
        // Numbers JSON cannot carry arrive tagged ({ "$keel:number": "NaN" }), as keel stores them.
        const evidence = decodeEvidence(
          parseJson(evidencePath, readInputFile(evidencePath)) as JsonValue,
        ) as Evidence;
        const report = await evaluate(policy, evidence, command);
        if (opts.html) writeFileSync(opts.html, renderGateReport(report));
        if (opts.json) ctx.output.out(json(report));
        else ctx.output.out(`${printable(formatGateReport(report))}\n`);
        if (opts.html && !opts.json) ctx.output.err(`report written to ${opts.html}\n`);
        if (report.decision === 'fail' && opts.failOnFail) ctx.exit(EXIT.checkFailed);
      },
    );
}

/** With a store, through `keel.gates` (the report is stored); without, judged in memory. */
async function evaluate(
  policy: GatePolicy,
  evidence: Evidence,
  command: Command,
): Promise<GateReport> {
  if (storeLocation(command.optsWithGlobals<GlobalOptions>()).store) {
    return withKeel(command, (keel) => keel.gates.evaluate(policy, evidence));
  }
  return createGateEvaluator().evaluate(policy, evidence);
}
