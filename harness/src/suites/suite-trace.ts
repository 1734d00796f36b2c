// --trace for suites: sockvm-trace started once per boot in guest 1 (watching every traced
// suite), a reset snapshot before each traced suite and its own snapshot after it, written to
// trace/<suite>.json and summarised for the suite's result.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventBus } from '../events.js';
import type { SuiteResult } from '../results/model.js';
import { GuestTrace } from '../trace/guest-session.js';
import type { TraceFile } from '../trace/trace-file.js';
import type { LabGuest } from '../vm/lab.js';
import { writeOut } from '../util/out-file.js';

export class SuiteTracer {
  /** sockvm-trace in guest 1 for this boot, once a traced suite started it. */
  private tracer: GuestTrace | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly resultsDir: string,
    /** Every traced suite of the run: the tracer, started once per boot, watches them all. */
    private readonly tracedSuites: string[],
    private readonly onTrace?: (suite: string, trace: TraceFile) => void,
  ) {}

  /** Fresh guests: a tracer of the old boot is gone with it. */
  newBoot(): void {
    this.tracer = undefined;
  }

  async stop(): Promise<void> {
    await this.tracer?.stop();
  }

  /**
   * Before a traced suite: the boot's tracer started (once), and what it saw since the last
   * suite dropped (a reset snapshot). Returns notes for the suite.
   */
  async before(client: LabGuest): Promise<string[]> {
    if (!this.tracer) {
      this.tracer = new GuestTrace(
        client.ssh,
        this.tracedSuites.map((name) => `/suites/${name}`),
      );
      const why = await this.tracer.start();
      return why ? [why] : [`tracer attached in ${((this.tracer.attachMs ?? 0) / 1000).toFixed(1)} s (once for this boot)`];
    }
    if (this.tracer.running) await this.tracer.snapshot();
    return [];
  }

  /** After a traced suite (guest 1 still up): its snapshot saved and summarised; undefined when no tracer ran. */
  async after(resultName: string, before: string[]): Promise<SuiteResult['trace']> {
    const tracer = this.tracer;
    if (!tracer) return undefined;
    const outcome = await tracer
      .snapshot()
      .catch((err: unknown) => ({ notes: [`tracer: ${err instanceof Error ? err.message : String(err)}`], trace: undefined, json: undefined }));
    const summary: NonNullable<SuiteResult['trace']> = { notes: [...before, ...outcome.notes] };
    if (before.length && tracer.attachMs !== undefined) summary.attachMs = tracer.attachMs;
    const { trace, json } = outcome;
    if (trace && json) {
      await mkdir(join(this.resultsDir, 'trace'), { recursive: true });
      summary.file = `trace/${resultName}.json`;
      await writeOut(join(this.resultsDir, summary.file), json);
      summary.functions = trace.functions.length;
      summary.attached = trace.functions.filter((f) => f.attached).length;
      summary.unattached = trace.functions.filter((f) => !f.attached).map((f) => ({ function: f.name, error: f.error ?? 'not attached' }));
      summary.drops = trace.drops;
      if (!trace.uprobes.every((u) => u.attached)) summary.notes.push('the test-boundary uprobe did not attach: every call counts as outside tests');
      this.onTrace?.(resultName, trace);
    }
    for (const note of summary.notes) if (!note.startsWith('tracer attached in')) this.bus.emit({ type: 'notice', message: `trace ${resultName}: ${note}` });
    return summary;
  }
}
