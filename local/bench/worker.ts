/**
 * The child side of ./child.ts: `node --import tsx local/bench/worker.ts TASK INPUT OUTPUT`.
 * Loads only the task asked for (modules of the service read their environment when loaded),
 * runs it, writes its result as JSON and exits, whatever sockets or timers are still open.
 */
import fs from 'node:fs';

type Task = { run(input: never): Promise<unknown> };

/* eslint-disable @typescript-eslint/no-require-imports -- loaded on demand: a task's process loads only its own modules */
const TASKS: Record<string, () => Task> = {
  overhead: () => require('./tasks/overhead') as Task,
  roundtrips: () => require('./tasks/roundtrips') as Task,
  login: () => require('./tasks/login') as Task,
  'upload-image': () => require('./tasks/uploadImage') as Task,
  'upload-video': () => require('./tasks/uploadVideo') as Task,
  'upload-post': () => require('./tasks/uploadPost') as Task,
  'upload-seed': () => require('./tasks/uploadSeed') as Task,
};
/* eslint-enable @typescript-eslint/no-require-imports */

async function main(): Promise<void> {
  const [task, inputFile, outputFile] = process.argv.slice(2);
  const load = task === undefined ? undefined : TASKS[task];
  if (load === undefined || inputFile === undefined || outputFile === undefined) {
    throw new Error(`usage: worker.ts <${Object.keys(TASKS).join('|')}> INPUT.json OUTPUT.json`);
  }
  const result = await load().run(JSON.parse(fs.readFileSync(inputFile, 'utf8')) as never);
  fs.writeFileSync(outputFile, JSON.stringify(result));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
