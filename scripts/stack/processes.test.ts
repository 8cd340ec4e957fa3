import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { portOwners, processInfo } from './processes.js';

describe('portOwners', () => {
  it('finds the process listening on a port from the kernel tables, and nobody on a closed one', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const owners = portOwners([port]);
      expect(owners.get(port)?.pid).toBe(process.pid);
      expect(owners.get(port)?.argv).toEqual(processInfo(process.pid)?.argv);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(portOwners([port]).has(port)).toBe(false);
  });
});
