/**
 * Under `npm test` nyc hooks child_process: every child a test starts gets nyc's preload and
 * settings in its environment, even an explicit one, and writes coverage of its own. A child that
 * runs our TypeScript through another loader (tsx: `npm start`, helper commands, the memory probe
 * of the format fuzz suite) instruments the same files differently, and istanbul merges coverage
 * by path: the run's figures become garbage. Such children are started through `env -u`, which
 * drops nyc's variables after the hook added them.
 */
export function withoutCoverage(command: string, args: string[]): [string, string[]] {
  const hooked = Object.keys(process.env).filter((name) => name.startsWith('NODE_PRELOAD_') || name.startsWith('NYC_'));
  if (hooked.length === 0) return [command, args];
  const unset = ['NODE_OPTIONS', 'NODE_PATH', 'BABEL_DISABLE_CACHE', 'NYC_CONFIG', 'NYC_CWD', 'NYC_PROCESS_ID', ...hooked].flatMap((name) => ['-u', name]);
  return ['env', [...unset, command, ...args]];
}
