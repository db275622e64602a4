import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ephemeralPortRange, freePortsSync, reservePort } from './ports';

const RESERVATIONS = path.join(os.tmpdir(), 'media-library-ports');

/** Runs freePortsSync in a separate Node process, as another test worker or stack would. */
function portsOfAnotherProcess(count: number, keepAliveMs = 0): number[] {
  const script = `
    const { freePortsSync } = require(${JSON.stringify(path.join(__dirname, 'ports.ts'))});
    const ports = freePortsSync(${count});
    process.stdout.write(JSON.stringify(ports));
    setTimeout(() => {}, ${keepAliveMs});`;
  return JSON.parse(execFileSync(process.execPath, ['--require', 'ts-node/register/transpile-only', '-e', script], { encoding: 'utf8' })) as number[];
}

describe('local ports for the stand-ins (local/stack/ports)', () => {
  it('hands out distinct ports below the ephemeral range that can be bound, each reserved by this process', async () => {
    const [ephemeralLow] = ephemeralPortRange();
    const ports = freePortsSync(8);
    expect(new Set(ports).size).to.equal(8);
    for (const port of ports) {
      expect(port).to.be.below(ephemeralLow);
      expect(fs.readFileSync(path.join(RESERVATIONS, String(port)), 'utf8')).to.equal(String(process.pid));
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '0.0.0.0', resolve));
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never hands out a port that is in use', async () => {
    const [ephemeralLow] = ephemeralPortRange();
    // Occupy 2,000 ports of the range (about one in six) and ask for 50: by chance alone some would land there.
    const servers: net.Server[] = [];
    for (let port = 20_000; port < Math.min(22_000, ephemeralLow); port++) {
      const server = net.createServer();
      const listening = await new Promise<boolean>((resolve) => server.once('error', () => resolve(false)).listen(port, '127.0.0.1', () => resolve(true)));
      if (listening) servers.push(server);
    }
    try {
      const occupied = new Set(servers.map((server) => (server.address() as net.AddressInfo).port));
      const ports = freePortsSync(50);
      expect(ports.filter((port) => occupied.has(port))).to.deep.equal([]);
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  });

  it("respects another live process's reservations, and releases its own when it exits", function () {
    this.timeout(20_000);
    const mine = freePortsSync(4);
    const theirs = portsOfAnotherProcess(400);
    expect(theirs.filter((port) => mine.includes(port))).to.deep.equal([]);
    // The other process has exited: its reservations are gone.
    expect(theirs.filter((port) => fs.existsSync(path.join(RESERVATIONS, String(port))))).to.deep.equal([]);
  });

  it('takes over the reservation of a process that is gone, never that of a live one', () => {
    const [port] = freePortsSync(1) as [number];
    const file = path.join(RESERVATIONS, String(port));
    fs.writeFileSync(file, String(process.ppid));
    expect(reservePort(port), 'held by a live process').to.equal(false);
    fs.writeFileSync(file, '99999999'); // above any pid_max: that process cannot be alive
    expect(reservePort(port), 'held by a process that is gone').to.equal(true);
    expect(fs.readFileSync(file, 'utf8')).to.equal(String(process.pid));
  });
});
