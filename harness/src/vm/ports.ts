import { createServer } from 'node:net';
import { InfraError } from '../util/errors.js';

/** A TCP port on 127.0.0.1 that is free right now (the kernel picks it). */
export function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new InfraError('the kernel gave no port for a listener on 127.0.0.1')),
      );
    });
  });
}
