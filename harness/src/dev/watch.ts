// sockvm dev's watcher: the module's source tree and the selected suites' directories (plus
// their shared library) watched with chokidar; saves arrive as batches that say what to rebuild.
import { basename, relative } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { abortReason } from '../util/cancel.js';

/** What a batch of saves asks for. */
export interface ChangeSet {
  /** The module's sources changed: rebuild newtcp.ko and reload it. */
  module: boolean;
  /** Suites whose sources changed (a change to the suites' library names them all). */
  suites: string[];
  /** The changed files, relative to their watched root. */
  files: string[];
  /** When the first save of the batch was seen (the start of the edit → verdict figure). */
  at: number;
}

export interface WatchRoots {
  moduleSrc: string;
  /** Suite name → its source directory. */
  suites: Map<string, string>;
  /** Directories every C suite builds from (suites/lib): a change there rebuilds them all. */
  shared: string[];
}

/** Build output, editor swap and backup files: none of them is a save of a source. */
const NOT_A_SOURCE = /(^|\/)(\..*\.cmd|.*\.(o|ko|mod|mod\.c|swp|swx|tmp)|modules\.order|Module\.symvers|\.tmp_versions|.*~|\.#.*|4913)$/;

/**
 * Saves that come together (an editor writes a file in several steps; "save all") make one
 * batch: it closes once no event came for this long.
 */
const QUIET_MS = 60;

export class SourceWatcher {
  private readonly watcher: FSWatcher;
  private pending: ChangeSet | undefined;
  private timer: NodeJS.Timeout | undefined;
  private waiter: ((c: ChangeSet) => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly roots: WatchRoots) {
    const paths = [roots.moduleSrc, ...roots.suites.values(), ...roots.shared];
    this.watcher = watch(paths, { ignoreInitial: true, ignored: (p: string) => NOT_A_SOURCE.test(p) });
    for (const ev of ['add', 'change', 'unlink'] as const) this.watcher.on(ev, (path: string) => this.saw(path));
    this.watcher.on('error', (err: unknown) => (this.failure = err instanceof Error ? err : new Error(String(err))));
  }

  /** Every watched directory, for the user. */
  get watching(): string[] {
    return [this.roots.moduleSrc, ...this.roots.suites.values(), ...this.roots.shared];
  }

  /** Resolves when chokidar has scanned the trees: a save after this is seen. */
  ready(): Promise<void> {
    return new Promise((resolve) => this.watcher.once('ready', () => resolve()));
  }

  private saw(path: string): void {
    const batch = (this.pending ??= { module: false, suites: [], files: [], at: Date.now() });
    const within = (dir: string): boolean => path === dir || path.startsWith(`${dir}/`);
    if (within(this.roots.moduleSrc)) {
      batch.module = true;
      batch.files.push(relative(this.roots.moduleSrc, path));
    }
    for (const [name, dir] of this.roots.suites) {
      if (within(dir) && !batch.suites.includes(name)) batch.suites.push(name);
      if (within(dir)) batch.files.push(`${name}/${relative(dir, path)}`);
    }
    for (const dir of this.roots.shared) {
      if (!within(dir)) continue;
      batch.files.push(`${basename(dir)}/${relative(dir, path)}`);
      for (const name of this.roots.suites.keys()) if (!batch.suites.includes(name)) batch.suites.push(name);
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), QUIET_MS);
  }

  private flush(): void {
    const batch = this.pending;
    if (!batch || !this.waiter) return;
    this.pending = undefined;
    batch.files = [...new Set(batch.files)];
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter(batch);
  }

  /**
   * The next batch of saves; saves made while a cycle ran are the next batch at once. Rejects
   * when `signal` aborts (^C) or the watcher fails.
   */
  next(signal: AbortSignal): Promise<ChangeSet> {
    return new Promise((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      if (signal.aborted) return reject(new Error(abortReason(signal)));
      const onAbort = (): void => {
        this.waiter = undefined;
        reject(new Error(abortReason(signal)));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiter = (c) => {
        signal.removeEventListener('abort', onAbort);
        resolve(c);
      };
      // Saves made while no one waited (during the last cycle) are handed over once quiet.
      if (this.pending) {
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.flush(), QUIET_MS);
      }
    });
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.watcher.close();
  }
}
