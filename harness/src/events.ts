// Typed events: orchestration emits these and never prints; reporters and writers consume them.
import type { TestResult } from './results/model.js';

export type Phase = 'kernel' | 'module-build' | 'suite-build' | 'image-build' | 'accel-probe' | 'boot' | 'suites' | 'shutdown';

export type SockvmEvent =
  | { type: 'run-started'; runId: string; resultsDir: string; command: string }
  | { type: 'target-started'; target: string }
  | { type: 'phase-started'; phase: Phase; detail?: string }
  | { type: 'phase-ended'; phase: Phase; durationMs: number; detail?: string }
  | { type: 'notice'; message: string }
  | { type: 'progress'; phase: Phase; message: string }
  | { type: 'suite-started'; suite: string }
  | { type: 'suite-line'; suite: string; line: string }
  | { type: 'test-result'; suite: string; test: TestResult }
  | { type: 'suite-ended'; suite: string; status: 'pass' | 'fail' | 'error'; durationMs: number; reason?: string }
  | { type: 'run-ended'; exitCode: number; resultsDir: string; summary: string[] };

export type Listener = (event: SockvmEvent) => void;

/** A minimal synchronous event bus; listeners run in subscription order. */
export class EventBus {
  private readonly listeners: Listener[] = [];

  on(listener: Listener): void {
    this.listeners.push(listener);
  }

  emit(event: SockvmEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
