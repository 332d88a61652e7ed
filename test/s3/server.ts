/**
 * A real S3-protocol server (s3rver) for the S3 tests, started in a child process on
 * 127.0.0.1 with a fresh directory, and an `S3Client` that talks to it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { repoRoot } from '../helpers/run-ts.js';

/** The bucket every test server has. */
export const BUCKET = 'keel-test';

/** A running server. */
export interface S3TestServer {
  endpoint: string;
  /** A new client of the server (path-style, s3rver's fixed credentials). */
  client(): S3Client;
  close(): Promise<void>;
}

/** Starts s3rver in a child process and waits until it listens. */
export async function startS3Server(): Promise<S3TestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'keel-s3-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(repoRoot, 'test/s3/s3rver-process.cjs'), directory],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
    });
    child.stderr?.on('data', (data: Buffer) => {
      err += data.toString();
    });
    child.on('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${err}`)));
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    client() {
      const client = new S3Client({
        endpoint,
        region: 'us-east-1',
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      });
      clients.push(client);
      return client;
    },
    async close() {
      for (const client of clients) client.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
