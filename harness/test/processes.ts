// Which processes a CLI run started, to check that none is left after it exits: its
// descendants are sampled while it runs (pid, start time, process group); afterwards any of
// them still alive, or anything still in one of their process groups, is left behind.
import { readdirSync, readFileSync } from 'node:fs';

interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  start: string;
  cmd: string;
}

function readProc(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(fields[1]), pgid: Number(fields[2]), start: fields[19] ?? '', cmd };
  } catch {
    return undefined;
  }
}

function allProcs(): Proc[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readProc(Number(d)))
    .filter((p): p is Proc => p !== undefined);
}

export class ProcessWatch {
  private readonly seen = new Map<number, Proc>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly root: number) {
    this.timer = setInterval(() => this.sample(), 100);
  }

  /** The descendants of the root now (also recorded). */
  sample(): Proc[] {
    const procs = allProcs();
    const children = new Map<number, Proc[]>();
    for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const out: Proc[] = [];
    const queue = [this.root];
    while (queue.length) {
      for (const c of children.get(queue.shift() as number) ?? []) {
        out.push(c);
        this.seen.set(c.pid, c);
        queue.push(c.pid);
      }
    }
    return out;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Processes of the run still alive: one seen (same start time), or one in a group of theirs. */
  left(): string[] {
    const groups = new Set([...this.seen.values()].map((p) => p.pgid));
    groups.delete(process.pid);
    groups.delete(readProc(process.pid)?.pgid ?? -1);
    return allProcs()
      .filter((p) => p.pid !== process.pid && (this.seen.get(p.pid)?.start === p.start || groups.has(p.pgid)))
      .map((p) => `${p.pid} ${p.cmd}`);
  }
}
