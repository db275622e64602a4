import { execFileSync } from 'node:child_process';
import net from 'node:net';

/**
 * N distinct free TCP ports on loopback, chosen synchronously (the test setup runs at
 * require time, before any async hook). A child process binds port 0 N times and
 * reports what the kernel handed out; the stand-ins bind them moments later.
 */
export function freePortsSync(count: number): number[] {
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
