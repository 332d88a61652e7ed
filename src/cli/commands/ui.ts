/**
 * @module
 * `keel ui`: serves the read-only web UI (`keel/ui`) over the store on loopback (unless told
 * otherwise), prints the URL, and runs until interrupted.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { createUiHandler } from '../../ui/handler.js';
import { type CliContext, withKeel } from '../context.js';
import { nonNegativeInt } from './options.js';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Registers `keel ui`. */
export function registerUi(program: Command, ctx: CliContext): void {
  program
    .command('ui')
    .description('serve the read-only web UI over the store and print its URL (Ctrl-C stops it)')
    .option('-p, --port <port>', 'the port (0: any free port)', nonNegativeInt, 0)
    .option(
      '--host <host>',
      'the address to listen on; anything but loopback exposes the store to the network, unauthenticated',
      '127.0.0.1',
    )
    .action(async (opts: { port: number; host: string }, command: Command) => {
      await withKeel(command, async (keel) => {
        const server = createServer(createUiHandler({ keel }));
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(opts.port, opts.host, () => resolve());
        });
        const address = server.address() as AddressInfo;
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        ctx.output.out(`keel ui: http://${host}:${address.port}/\n`);
        if (!LOOPBACK.has(opts.host)) {
          ctx.output.err(
            `keel ui listens on ${opts.host}: anyone who reaches it reads the store (the UI has no login); put it behind your own authentication\n`,
          );
        }
        await new Promise<void>((resolve) => {
          const stop = (): void => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            server.close(() => resolve());
            server.closeAllConnections();
          };
          process.on('SIGINT', stop);
          process.on('SIGTERM', stop);
        });
      });
    });
}
