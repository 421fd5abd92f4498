import { MultiBar, Presets, SingleBar } from 'cli-progress';
import { Truthy, waitFor } from '@herald/testing';

/** The demo's output: numbered sections, timestamped lines, and live progress (bars on a terminal, lines otherwise). */
export class DemoUi {
  private readonly started = Date.now();
  readonly tty: boolean;
  readonly print: (line: string) => void;

  /** `print`: where lines go (tests collect them); default stdout, with bars when it is a terminal. */
  constructor(print?: (line: string) => void) {
    this.print = print ?? ((line) => console.log(line));
    this.tty = print === undefined && Boolean(process.stdout.isTTY);
  }

  section(n: number, title: string, what: string): void {
    this.print(`\n== ${n}. ${title} ==`);
    this.print(`   ${what}`);
  }

  say(text: string): void {
    this.print(`  [${this.elapsed()}] ${text}`);
  }

  elapsed(): string {
    return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(6)}s`;
  }

  /** Bars for `labels` out of `total`, with a free-text status; `update` takes the current counts. */
  progress(total: number, labels: string[]): { update: (counts: number[], status: string) => void; stop: () => void } {
    if (this.tty) {
      const multi = new MultiBar({ format: '   {label} [{bar}] {value}/{total} {status}', hideCursor: true, clearOnComplete: false }, Presets.shades_classic);
      const bars: SingleBar[] = labels.map((label) => multi.create(total, 0, { label: label.padEnd(10), status: '' }));
      return {
        update: (counts, status) => counts.forEach((count, i) => bars[i].update(count, { status: i === 0 ? status : '' })),
        stop: () => multi.stop(),
      };
    }
    let last = 0;
    return {
      update: (counts, status) => {
        if (Date.now() - last < 1_000) return;
        last = Date.now();
        this.say(`${labels.map((label, i) => `${label} ${counts[i]}/${total}`).join(', ')}  ${status}`);
      },
      stop: () => undefined,
    };
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for `condition` (see @herald/testing's waitFor), with the demo's longer defaults. */
export function until<T>(
  condition: () => Promise<T | null | false> | T | null | false,
  what: string,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<Truthy<T | null | false>> {
  return waitFor(condition, { what, timeoutMs, intervalMs: everyMs });
}
