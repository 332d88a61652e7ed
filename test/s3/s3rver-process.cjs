// An S3-protocol server for the tests, in its own process on 127.0.0.1 (see test/s3/server.ts).
// s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 offers
// only with --openssl-legacy-provider: that flag must be given at process start.
const S3rver = require('s3rver');

const directory = process.argv[2];
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: [{ name: 'keel-test' }],
});
server.run().then(
  ({ port }) => process.stdout.write(`${JSON.stringify({ port })}\n`),
  (error) => {
    process.stderr.write(`${error?.stack ?? error}\n`);
    process.exit(1);
  },
);
// The parent closes stdin when it is done (or dies): then this server stops too.
process.stdin.resume();
process.stdin.on('end', () => server.close().finally(() => process.exit(0)));
