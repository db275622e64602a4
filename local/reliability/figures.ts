/** What the fuzzing suite counts, and the tables it prints at the end (for docs/reliability.md). */

export interface RouteFigures {
  requests: number;
  statuses: Map<string, number>;
  serverErrors: number;
  crashes: number;
  contractViolations: number;
  leaks: number;
  otherUserChanges: number;
  /** Requests naming one of B's objects, and how many of them got a 2xx (must be 0). */
  namingOther: number;
  namingOtherServed: number;
}

const blank = (): RouteFigures => ({
  requests: 0,
  statuses: new Map(),
  serverErrors: 0,
  crashes: 0,
  contractViolations: 0,
  leaks: 0,
  otherUserChanges: 0,
  namingOther: 0,
  namingOtherServed: 0,
});

export class Figures {
  readonly routes = new Map<string, RouteFigures>();
  readonly kinds = new Map<string, Map<string, number>>();
  readonly notes: string[] = [];

  route(name: string): RouteFigures {
    let figures = this.routes.get(name);
    if (figures === undefined) {
      figures = blank();
      this.routes.set(name, figures);
    }
    return figures;
  }

  count(name: string, status: string, kinds: string[]): void {
    const figures = this.route(name);
    figures.requests++;
    figures.statuses.set(status, (figures.statuses.get(status) ?? 0) + 1);
    for (const kind of kinds) {
      const byStatus = this.kinds.get(kind) ?? new Map<string, number>();
      const family = status === 'threw' ? 'threw' : `${status[0] ?? '?'}xx`;
      byStatus.set(family, (byStatus.get(family) ?? 0) + 1);
      this.kinds.set(kind, byStatus);
    }
  }

  /** Markdown tables: per operation, then per kind of oddity. */
  render(header: string[]): string {
    const lines = [...header, ''];
    lines.push('| operation | requests | 2xx | 4xx | 5xx | crashes | contract violations | leaks of B | B changed | naming B: requests / served | statuses seen |');
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    const total = blank();
    for (const [name, figures] of this.routes) {
      const family = (digit: string): number => [...figures.statuses].filter(([status]) => status.startsWith(digit)).reduce((sum, [, n]) => sum + n, 0);
      const seen = [...figures.statuses]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([status, n]) => `${status} ×${n}`)
        .join(', ');
      lines.push(
        `| ${name} | ${figures.requests} | ${family('2')} | ${family('4')} | ${family('5')} | ${figures.crashes} | ${figures.contractViolations} | ${figures.leaks} | ${figures.otherUserChanges} | ${figures.namingOther} / ${figures.namingOtherServed} | ${seen} |`,
      );
      total.requests += figures.requests;
      total.serverErrors += family('5');
      total.crashes += figures.crashes;
      total.contractViolations += figures.contractViolations;
      total.leaks += figures.leaks;
      total.otherUserChanges += figures.otherUserChanges;
      total.namingOther += figures.namingOther;
      total.namingOtherServed += figures.namingOtherServed;
    }
    lines.push(
      `| **total** | ${total.requests} | | | ${total.serverErrors} | ${total.crashes} | ${total.contractViolations} | ${total.leaks} | ${total.otherUserChanges} | ${total.namingOther} / ${total.namingOtherServed} | |`,
    );
    lines.push('');
    lines.push('| what was odd about the request | requests | 2xx | 4xx | 5xx | threw |');
    lines.push('|---|---:|---:|---:|---:|---:|');
    for (const [kind, byStatus] of [...this.kinds].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const n = (family: string): number => byStatus.get(family) ?? 0;
      const all = [...byStatus.values()].reduce((sum, value) => sum + value, 0);
      lines.push(`| ${kind} | ${all} | ${n('2xx')} | ${n('4xx')} | ${n('5xx')} | ${n('threw')} |`);
    }
    if (this.notes.length > 0) lines.push('', ...this.notes);
    return lines.join('\n');
  }
}
