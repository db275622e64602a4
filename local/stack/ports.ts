import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** Where ports handed out by freePortsSync are reserved, one file per port naming the process holding it. */
const RESERVATIONS = path.join(os.tmpdir(), 'media-library-ports');
const reservedHere: string[] = [];
let releaseOnExit = false;

/**
 * The kernel's ephemeral range (outgoing connections take their local port from it, and so does
 * listen(0)). A port picked there can be taken by any outgoing connection between the pick and
 * the bind, which is how DynamoDB Local once failed with "Address already in use".
 */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low as number, high as number];
  } catch {
    // not Linux: the IANA range, which macOS and Windows use
  }
  return [49152, 65535];
}

/**
 * N distinct free TCP ports, chosen synchronously (the test setup runs at require time, before
 * any async hook), for stand-ins that bind them moments later. They come from below the
 * kernel's ephemeral range, so no outgoing connection takes one meanwhile, and each is reserved
 * with a file that other test workers and stacks on this machine respect until this process
 * exits (a reservation of a process that is gone is taken over).
 */
export function freePortsSync(count: number): number[] {
  const [ephemeralLow] = ephemeralPortRange();
  const low = 20_000;
  const high = Math.min(ephemeralLow, 65_536) - 1;
  if (high - low < 1_000) return kernelPortsSync(count);
  fs.mkdirSync(RESERVATIONS, { recursive: true });
  const ports: number[] = [];
  for (let round = 0; ports.length < count && round < 20; round++) {
    const candidates: number[] = [];
    while (candidates.length < count - ports.length) {
      const port = low + Math.floor(Math.random() * (high - low + 1));
      if (!ports.includes(port) && !candidates.includes(port) && reservePort(port)) candidates.push(port);
    }
    const bindable = bindableSync(candidates);
    for (const port of candidates) {
      if (bindable.includes(port)) ports.push(port);
      else release(port);
    }
  }
  if (ports.length < count) throw new Error(`could not find ${count} free ports between ${low} and ${high}`);
  return ports;
}

/** Reserves one port for this process until it exits; false when a live process holds it. */
export function reservePort(port: number): boolean {
  const file = path.join(RESERVATIONS, String(port));
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
  } catch {
    try {
      const holder = Number(fs.readFileSync(file, 'utf8').trim() || 'NaN');
      if (Number.isInteger(holder) && isAlive(holder)) return false;
      // Its holder is gone: take it over (a rename is atomic; of two racing takers, the one whose pid stays wins).
      const claim = `${file}.${process.pid}`;
      fs.writeFileSync(claim, String(process.pid));
      fs.renameSync(claim, file);
      if (fs.readFileSync(file, 'utf8').trim() !== String(process.pid)) return false;
    } catch {
      return false;
    }
  }
  reservedHere.push(file);
  if (!releaseOnExit) {
    releaseOnExit = true;
    process.once('exit', () => {
      for (const reserved of reservedHere) fs.rmSync(reserved, { force: true });
    });
  }
  return true;
}

function release(port: number): void {
  const file = path.join(RESERVATIONS, String(port));
  fs.rmSync(file, { force: true });
  reservedHere.splice(reservedHere.indexOf(file), 1);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Those of the ports a listener could bind on every interface right now (a child process answers: this must be synchronous). */
function bindableSync(ports: number[]): number[] {
  const script = `
    const net = require('node:net');
    const bindable = (port) => new Promise((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
    });
    (async () => {
      const ports = ${JSON.stringify(ports)};
      const results = await Promise.all(ports.map(bindable));
      process.stdout.write(JSON.stringify(ports.filter((port, index) => results[index])));
    })();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as number[];
}

/** N ports the kernel hands out for listen(0), for a machine whose ephemeral range leaves no room below it. */
function kernelPortsSync(count: number): number[] {
  const script = `
    const net = require('node:net');
    const servers = [];
    const open = () => new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => { servers.push(server); resolve(server.address().port); });
    });
    (async () => {
      const ports = [];
      for (let i = 0; i < ${count}; i++) ports.push(await open());
      process.stdout.write(JSON.stringify(ports));
      for (const server of servers) server.close();
    })();`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as number[];
}

/** Resolves when nothing listens on the port; otherwise rejects with a message a person can act on. */
export async function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  for (const host of ['127.0.0.1', '0.0.0.0']) {
    await new Promise<void>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', (error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE' || error.code === 'EACCES') {
          reject(
            new Error(
              `Port ${port} (${what}) is already in use. Stop whatever listens there ` +
                `(\`lsof -i :${port}\` or \`ss -ltnp 'sport = :${port}'\` shows it) or pick another port: ` +
                `${envName}=<port> npm start`,
            ),
          );
        } else {
          reject(error);
        }
      });
      server.listen(port, host, () => server.close(() => resolve()));
    });
  }
}

/** Polls until something accepts TCP connections on the port, or gives up. */
export async function waitForPort(port: number, timeoutMs: number, isAlive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process meant to listen on port ${port} exited`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
}

/** A TCP port from an environment variable, or the fallback when it is unset; anything else fails loudly. */
export function portFromEnv(envName: string, fallback: number): number {
  const raw = process.env[envName];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) throw new Error(`${envName} must be a TCP port, got "${raw}"`);
  return value;
}
