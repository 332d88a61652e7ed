import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isKeelError, TimeoutError, ValidationError } from '../../src/core/errors.js';
import { pipeline } from '../../src/pipeline/builder.js';
import { CommandFailedError, commandStep } from '../../src/pipeline/command-step.js';
import { PipelineRunError } from '../../src/pipeline/errors.js';
import { createPipelineTestKeel } from '../../src/testing/pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const script = (name: string, source: string) => {
  const file = join(dir, name);
  writeFileSync(file, source);
  return file;
};

const train = script(
  'train.mjs',
  `import { writeFileSync, mkdirSync } from 'node:fs';
const epochs = Number(process.argv[2]);
for (let epoch = 0; epoch < epochs; epoch++) {
  console.log('epoch ' + epoch);
  console.log('keel:metric ' + JSON.stringify({ loss: 1 / (epoch + 1), step: epoch }));
}
console.log('keel:metric ' + JSON.stringify({ key: 'accuracy', value: 0.9 }));
console.log('keel:metric not json');
console.error('a warning on stderr');
mkdirSync('out', { recursive: true });
writeFileSync('out/model.json', JSON.stringify({ w: [1, 2], seed: process.env.SEED }));
`,
);

const failing = script(
  'fail.mjs',
  `for (let i = 1; i <= 30; i++) console.error('trace line ' + i);
console.error('ValueError: bad shape');
process.exit(3);`,
);

const hang = script(
  'hang.mjs',
  `import { writeFileSync } from 'node:fs';
writeFileSync(process.argv[2], String(process.pid));
setInterval(() => {}, 1000);`,
);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('commandStep', () => {
  it('runs a program, streams stdout/stderr into artifacts, parses metrics and stores outputs', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline<{ epochs: number }>('cmd')
      .step(
        'fit',
        commandStep<{ input: { epochs: number } }>('fit', {
          command: process.execPath,
          args: ({ input }) => [train, String(input.epochs)],
          env: { SEED: '7' },
          cwd: dir,
          outputs: { model: 'out/model.json' },
        }),
        { cache: true, version: '1' },
      )
      .step('read', ['fit'], async ({ fit }) =>
        JSON.parse(new TextDecoder().decode(await keel.artifacts.get(fit.outputs.model!.digest))),
      )
      .build();
    const result = await built.run({ epochs: 3 }, { keel, captureEnvironment: false });
    const fit = result.outputs.fit;
    expect(fit.exitCode).toBe(0);
    expect(fit.metrics).toEqual({ loss: 1 / 3, accuracy: 0.9 });
    expect(result.outputs.read).toEqual({ w: [1, 2], seed: '7' });
    const stdout = new TextDecoder().decode(await keel.artifacts.get(fit.stdout.digest));
    expect(stdout).toContain('epoch 2\n');
    const stderr = new TextDecoder().decode(await keel.artifacts.get(fit.stderr.digest));
    expect(stderr).toBe('a warning on stderr\n');

    const runId = result.steps.fit?.runId as string;
    expect((await keel.tracker.metricHistory(runId, 'loss')).map((p) => [p.step, p.value])).toEqual(
      [
        [0, 1],
        [1, 0.5],
        [2, 1 / 3],
      ],
    );
    const run = await keel.tracker.getRun(runId);
    expect(run.outputs.map((o) => o.name)).toEqual(
      expect.arrayContaining(['fit.stdout.log', 'fit.stderr.log', 'model', 'output']),
    );
    // a re-run is a cache hit: the output is references, verified to still exist
    const again = await built.run({ epochs: 3 }, { keel, captureEnvironment: false });
    expect(again.steps.fit?.cached).toBe(true);
  });

  it('fails with the exit code and the last stderr lines', async () => {
    const { keel } = createPipelineTestKeel();
    const built = pipeline('cmd')
      .step(
        'fit',
        commandStep('fit', { command: process.execPath, args: [failing], stderrLines: 5 }),
      )
      .build();
    const error = (await built
      .run(undefined, { keel, captureEnvironment: false })
      .catch((e: unknown) => e)) as PipelineRunError;
    expect(error).toBeInstanceOf(PipelineRunError);
    const cause = error.cause as CommandFailedError;
    expect(cause).toBeInstanceOf(CommandFailedError);
    expect(cause.code).toBe('KEEL_COMMAND_FAILED');
    expect(cause.exitCode).toBe(3);
    expect(cause.stderrTail).toEqual([
      'trace line 27',
      'trace line 28',
      'trace line 29',
      'trace line 30',
      'ValueError: bad shape',
    ]);
    expect(cause.message).toMatch(
      /command step "fit" \(.*fail\.mjs\) exited with code 3; last stderr lines:\n/,
    );
    expect(cause.message).toContain('ValueError: bad shape');
    expect(cause.message).not.toContain('trace line 26');
  });

  it('fails when a declared output is missing, and when the program cannot start', async () => {
    const { keel } = createPipelineTestKeel();
    const missing = pipeline('cmd')
      .step(
        'fit',
        commandStep('fit', {
          command: process.execPath,
          args: ['-e', ''],
          outputs: { model: 'nope.bin' },
          cwd: dir,
        }),
      )
      .build();
    const error = (await missing
      .run(undefined, { keel, captureEnvironment: false })
      .catch((e: unknown) => e)) as PipelineRunError;
    expect(isKeelError(error.cause, 'KEEL_NOT_FOUND')).toBe(true);
    expect((error.cause as Error).message).toContain('declared output "model" at nope.bin');

    const absent = pipeline('cmd2')
      .step('fit', commandStep('fit', { command: join(dir, 'no-such-program') }))
      .build();
    const startError = (await absent
      .run(undefined, { keel, captureEnvironment: false })
      .catch((e: unknown) => e)) as PipelineRunError;
    expect((startError.cause as Error).message).toMatch(
      /could not start .*no-such-program.*ENOENT/,
    );
  });

  it('kills the program when the step times out', async () => {
    const { keel } = createPipelineTestKeel();
    const pidFile = join(dir, 'hang.pid');
    const built = pipeline('cmd')
      // Long enough for a loaded machine to start Node and write the pid file before the kill.
      .step('fit', commandStep('fit', { command: process.execPath, args: [hang, pidFile] }), {
        timeoutMs: 5_000,
      })
      .build();
    const started = Date.now();
    const error = (await built
      .run(undefined, { keel, captureEnvironment: false })
      .catch((e: unknown) => e)) as PipelineRunError;
    expect(error.cause).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(25_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  });

  it('validates its options', () => {
    expect(() => commandStep('fit', { command: '' })).toThrow(ValidationError);
    expect(() => commandStep('../x', { command: 'node' })).toThrow(ValidationError);
    expect(() => commandStep('fit', { command: 'node', outputs: { model: '' } })).toThrow(
      ValidationError,
    );
    expect(() => commandStep('fit', { command: 'node', extra: 1 } as never)).toThrow(
      ValidationError,
    );
  });
});
