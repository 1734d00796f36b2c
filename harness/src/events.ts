// Typed events: orchestration emits these and never prints; reporters and writers consume them.
import type { ResultsFile, RunResult, TestResult } from './results/model.js';

export type Phase =
  | 'plan'
  | 'kernel'
  | 'module-build'
  | 'suite-build'
  | 'image-build'
  | 'accel-probe'
  | 'boot'
  | 'suites'
  /** Loading the module when no suite runs (a command, a shell, --keep). */
  | 'guest-setup'
  | 'copy'
  /** The user's command (its output goes straight to our stdout and stderr) or shell. */
  | 'command'
  | 'shell'
  | 'shutdown'
  /** sockvm dev: one edit's rebuild, copy, reload and suites. */
  | 'dev-build'
  | 'dev-copy'
  | 'dev-reload'
  | 'dev-suites';

/** Whose an event is: the target (and guest) it belongs to; run-wide events have neither. */
export interface EventOrigin {
  target?: string;
  /** guest1, guest2: where a guest's own output came from. */
  guest?: string;
}

export type SockvmEvent = EventOrigin & EventBody;

type EventBody =
  | { type: 'run-started'; runId: string; resultsDir: string; command: string }
  | { type: 'target-started'; target: string }
  | { type: 'phase-started'; phase: Phase; detail?: string }
  | { type: 'phase-ended'; phase: Phase; durationMs: number; detail?: string }
  | { type: 'notice'; message: string }
  /** What the user does next (reach kept guests, attach gdb): printed whole, never folded. */
  | { type: 'instructions'; title: string; lines: string[] }
  | { type: 'progress'; phase: Phase; message: string }
  | { type: 'suite-started'; suite: string }
  | { type: 'suite-line'; suite: string; line: string }
  | { type: 'test-result'; suite: string; test: TestResult }
  | { type: 'suite-ended'; suite: string; status: 'pass' | 'fail' | 'error'; durationMs: number; reason?: string }
  /** A target's results as they stand (after every suite, and at its end). */
  | { type: 'target-results'; dir: string; run: RunResult }
  /** The run is over: its verdict over every target; results/latest may point here. */
  | { type: 'run-results'; dir: string; results: ResultsFile }
  | { type: 'run-ended'; exitCode: number; resultsDir: string; summary: string[] }
  /** sockvm dev: the guests are up and the watcher waits for a save. */
  | { type: 'dev-waiting'; watching: string[] }
  /** sockvm dev: one save's verdict and what each step took. */
  | { type: 'dev-cycle'; cycle: DevCycle };

/** One cycle of sockvm dev: a save (or the first boot) through to the verdict of the selected suites. */
export interface DevCycle {
  /** 0: the verdict right after the boot; 1, 2, …: one per save. */
  index: number;
  /** The files whose change started it (relative to the watched roots; empty for cycle 0). */
  changed: string[];
  status: 'pass' | 'fail' | 'error';
  /** Why an error cycle is one (a build failure, a busy module, a crash). */
  reason?: string;
  /** Each step's time in ms (build, copy, reload, suites; reboot when the guests were replaced). */
  steps: Partial<Record<'build' | 'copy' | 'reload' | 'suites' | 'reboot', number>>;
  /** From the save (the first change event) to the verdict. */
  totalMs: number;
  /** How newtcp.ko was built when the module changed: kbuild's commands replayed, the full make and why, or cached. */
  moduleBuild?: string;
  suites: { name: string; status: 'pass' | 'fail' | 'error'; passed: number; failed: number }[];
  /** The kernel's oops/warning lines when the cycle crashed or upset the guest. */
  kernelFindings?: string[];
}

/** A listener may return a promise (a file write); settled() waits for all of them. */
export type Listener = (event: SockvmEvent) => void | Promise<void>;

/**
 * A minimal event bus; listeners run synchronously in subscription order. forTarget() gives a
 * view of the same bus that stamps every event with its target, so the layers below need not.
 */
export class EventBus {
  private readonly listeners: Listener[];
  private readonly pending: Set<Promise<void>>;

  constructor(
    private readonly origin: EventOrigin = {},
    shared?: { listeners: Listener[]; pending: Set<Promise<void>> },
  ) {
    this.listeners = shared?.listeners ?? [];
    this.pending = shared?.pending ?? new Set();
  }

  /** The same bus, every event emitted through it marked as this target's. */
  forTarget(target: string): EventBus {
    return new EventBus({ ...this.origin, target }, { listeners: this.listeners, pending: this.pending });
  }

  on(listener: Listener): void {
    this.listeners.push(listener);
  }

  emit(body: SockvmEvent): void {
    const event: SockvmEvent = { ...this.origin, ...body };
    for (const listener of this.listeners) {
      const done = listener(event);
      if (done) {
        this.pending.add(done);
        void done.finally(() => this.pending.delete(done)).catch(() => {});
      }
    }
  }

  /** Resolves when the listeners' work so far is done; rejects with its first failure. */
  async settled(): Promise<void> {
    await Promise.all([...this.pending]);
  }
}
