import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    fs: 'src/fs.ts',
    s3: 'src/s3.ts',
    testing: 'src/testing.ts',
    adapter: 'src/adapter.ts',
    report: 'src/report.ts',
    postgres: 'src/postgres.ts',
    ui: 'src/ui.ts',
    mlflow: 'src/mlflow.ts',
    // The `keel` executable (package.json "bin"); no library entry imports it.
    cli: 'src/cli/main.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  splitting: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  platform: 'neutral',
  external: ['vitest', '@opentelemetry/api', 'pg', '@aws-sdk/client-s3', 'apache-arrow'],
  tsconfig: 'tsconfig.build.json',
});
