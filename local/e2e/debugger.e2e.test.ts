/**
 * Debugging a function locally (`npm run start:debug`, docs/local-development.md): serverless-offline
 * runs with a Node inspector, a debugger attached to it reaches the worker thread a function runs
 * in, and a breakpoint set on a line of the function's .ts file (through its bundle's source map,
 * as VS Code and Chrome DevTools do) stops the request there until the debugger resumes it.
 */
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { expect } from 'chai';
import WebSocket from 'ws';
import { freePortsSync } from '../stack/ports';
import { REPO_ROOT } from '../stack/serviceConfig';
import { extraOfflineApi } from '../test/stack';
import type { RunningOffline } from '../stack/offline';

type Message = { id?: number; method?: string; params?: Record<string, unknown>; result?: Record<string, unknown>; error?: unknown };

/** A minimal Chrome DevTools Protocol client: calls, and events (also those a worker sends through its parent). */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, (message: Message) => void>();
  private readonly events: Array<{ session?: string; message: Message }> = [];
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.received(JSON.parse(data.toString()) as Message));
  }

  static async connect(url: string): Promise<Inspector> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => socket.once('open', () => resolve()).once('error', reject));
    return new Inspector(socket);
  }

  private received(message: Message, session?: string): void {
    if (message.method === 'NodeWorker.receivedMessageFromWorker') {
      this.received(JSON.parse(String(message.params?.['message'])) as Message, String(message.params?.['sessionId']));
      return;
    }
    if (message.id !== undefined && this.pending.has(message.id)) {
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
      return;
    }
    this.events.push({ ...(session === undefined ? {} : { session }), message });
    for (const wake of this.waiters.splice(0)) wake();
  }

  call(method: string, params: Record<string, unknown> = {}, session?: string): Promise<Message> {
    const id = this.nextId++;
    const message = JSON.stringify({ id, method, params });
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      if (session === undefined) this.socket.send(message);
      else this.socket.send(JSON.stringify({ id: this.nextId++, method: 'NodeWorker.sendMessageToWorker', params: { sessionId: session, message } }));
    });
  }

  async event(method: string, matches: (event: { session?: string; message: Message }) => boolean = () => true, timeoutMs = 30_000): Promise<{ session?: string; message: Message }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.events.findIndex((event) => event.message.method === method && matches(event));
      // Taken: the next wait for the same event waits for the next one.
      if (index >= 0) return this.events.splice(index, 1)[0] as { session?: string; message: Message };
      if (Date.now() > deadline) throw new Error(`no ${method} within ${timeoutMs} ms; events: ${this.events.map((event) => event.message.method).join(', ')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

const HANDLER_SOURCE = 'functions/docs/getOpenApi.ts';
/** The line of the handler's body the breakpoint goes on (1-based, as an editor shows it). */
const BREAK_LINE = fs.readFileSync(path.join(REPO_ROOT, HANDLER_SOURCE), 'utf8').split('\n').findIndex((line) => line.includes('status: 200')) + 1;

describe('debugging a function: a breakpoint in its .ts file stops the request in its worker thread', function () {
  this.timeout(120_000);
  let api: RunningOffline;
  let inspector: Inspector;

  before(async () => {
    const [port] = freePortsSync(1) as [number];
    api = await extraOfflineApi({}, { inspect: `127.0.0.1:${port}` });
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ webSocketDebuggerUrl: string }>;
    inspector = await Inspector.connect(targets[0]?.webSocketDebuggerUrl as string);
  });
  after(async () => {
    inspector?.close();
    await api?.stop();
  });

  it('pauses GET /v1/openapi.json on the line of getOpenApi.ts, mapped by the bundle’s source map, until resumed', async () => {
    expect(BREAK_LINE).to.be.greaterThan(0);
    // New worker threads wait for the debugger before running anything.
    await inspector.call('NodeWorker.enable', { waitForDebuggerOnStart: true });
    const answered = fetch(`${api.baseUrl}/v1/openapi.json`);
    const attached = await inspector.event('NodeWorker.attachedToWorker', (event) => event.message.params?.['waitingForDebugger'] === true);
    const session = String(attached.message.params?.['sessionId']);
    await inspector.call('Debugger.enable', {}, session);
    // Where the editor's line is in the bundle: the source map says (as an IDE resolves it).
    const bundle = path.join(REPO_ROOT, '.esbuild-test', '.build', 'functions', 'docs', 'getOpenApi.js');
    const map = new SourceMap(JSON.parse(fs.readFileSync(`${bundle}.map`, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]);
    const generated = fs.readFileSync(bundle, 'utf8').split('\n');
    const original = (line: number, column: number): { source: string; line: number } | undefined => {
      const entry = map.findEntry(line, column) as { originalSource?: string; originalLine?: number };
      return entry.originalSource === undefined ? undefined : { source: path.resolve(path.dirname(bundle), entry.originalSource), line: (entry.originalLine ?? -1) + 1 };
    };
    const lineNumber = generated.findIndex((text, line) => {
      const at = original(line, text.search(/\S/));
      return at?.source === path.join(REPO_ROOT, HANDLER_SOURCE) && at.line === BREAK_LINE;
    });
    expect(lineNumber, `${HANDLER_SOURCE}:${BREAK_LINE} has a place in the bundle`).to.be.greaterThan(0);
    const breakpoint = await inspector.call('Debugger.setBreakpointByUrl', { urlRegex: 'functions/docs/getOpenApi\\.js$', lineNumber }, session);
    expect(breakpoint.error, JSON.stringify(breakpoint)).to.equal(undefined);
    await inspector.call('Runtime.runIfWaitingForDebugger', {}, session);

    // A new worker first stops "on start", as a debugger shows it; continuing from there (as VS Code
    // does) runs the function up to the breakpoint.
    let paused = await inspector.event('Debugger.paused', (event) => event.session === session);
    while (paused.message.params?.['reason'] === 'Break on start') {
      await inspector.call('Debugger.resume', {}, session);
      paused = await inspector.event('Debugger.paused', (event) => event.session === session);
    }
    expect(paused.message.params?.['hitBreakpoints'], 'stopped by our breakpoint').to.deep.equal([breakpoint.result?.['breakpointId']]);
    const frame = (paused.message.params?.['callFrames'] as Array<{ location: { scriptId: string; lineNumber: number; columnNumber: number } }>)[0];
    // The paused script, as the debugger learnt it (Debugger.scriptParsed): the bundle, with its source map.
    const script = await inspector.event('Debugger.scriptParsed', (event) => event.session === session && event.message.params?.['scriptId'] === frame?.location.scriptId);
    expect(script.message.params?.['url']).to.match(/functions\/docs\/getOpenApi\.js$/);
    expect(script.message.params?.['sourceMapURL']).to.equal('getOpenApi.js.map');
    const where = original(frame?.location.lineNumber ?? -1, frame?.location.columnNumber ?? 0);
    expect(where?.source, 'the pause maps back to the .ts file').to.equal(path.join(REPO_ROOT, HANDLER_SOURCE));
    expect(where?.line, 'on the handler’s body').to.be.within(BREAK_LINE - 1, BREAK_LINE + 3);
    // The request waits for the debugger.
    const early = await Promise.race([answered.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
    expect(early).to.equal('waiting');

    await inspector.call('Debugger.resume', {}, session);
    const response = await answered;
    expect(response.status).to.equal(200);
    expect(((await response.json()) as { openapi?: string }).openapi).to.match(/^3\.1/);
  });
});
