import { createInterface } from 'node:readline';
import { printable } from './format.js';

/** Where a command writes: stdout for results, stderr for progress and notes. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /**
   * Writes one result line and resolves once it is written: false when the reader
   * has gone (`| head -1` closed the pipe), so a command never acts on a line nobody saw.
   */
  show?(line: string): Promise<boolean>;
  /** Raw stderr write (no newline), for an in-place progress line; undefined when not a TTY. */
  progress?: ((text: string) => void) | undefined;
  /** Asks a question on the terminal; undefined when stdin is not a TTY (nobody to ask). */
  ask?: ((question: string) => Promise<string>) | undefined;
  /**
   * Result lines go to a pipe or a file, not a terminal: a line written there is not a line
   * read (`| head -1` stops reading while the pipe's buffer still holds what came after).
   */
  readonly outputIsPipe?: boolean | undefined;
}

/**
 * The Io commands write through: every message line (stderr) has its control
 * characters escaped ({@link printable}), whatever it quotes — an archive key, a
 * provider's identifier, an AWS error. Results (stdout) are left to each view:
 * `tail --json` prints a body byte for byte, the other views escape what they show.
 */
export function escapedMessages(io: Io): Io {
  return {
    out: (line) => io.out(line),
    err: (line) => io.err(printable(line)),
    ...(io.show ? { show: (line: string) => io.show?.(line) ?? Promise.resolve(false) } : {}),
    progress: io.progress,
    ask: io.ask,
    outputIsPipe: io.outputIsPipe,
  };
}

/** Writes a result line through `show` when the Io has one. */
export async function showLine(io: Io, line: string): Promise<boolean> {
  if (io.show) return io.show(line);
  io.out(line);
  return true;
}

/**
 * The process's own streams. A closed stdout (EPIPE) is not an error: the
 * reader has what it wanted; `show` answers false and every later line is dropped.
 */
export function processIo(onOutputClosed: () => void = () => {}): Io {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    onOutputClosed();
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') close();
    else throw error;
  });
  const write = (line: string) =>
    new Promise<boolean>((done) => {
      if (closed) {
        done(false);
        return;
      }
      process.stdout.write(`${line}\n`, (error) => {
        if (error) close();
        done(!error && !closed);
      });
    });
  return {
    out: (line) => {
      void write(line);
    },
    err: (line) => process.stderr.write(`${line}\n`),
    show: write,
    progress: process.stderr.isTTY ? (text) => process.stderr.write(text) : undefined,
    outputIsPipe: !process.stdout.isTTY,
    ask: process.stdin.isTTY
      ? (question) =>
          new Promise((answer) => {
            const prompt = createInterface({ input: process.stdin, output: process.stderr });
            prompt.question(question, (text) => {
              prompt.close();
              answer(text);
            });
          })
      : undefined,
  };
}

/** Captures every line, for tests. */
export class MemoryIo implements Io {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  /** Answers to `ask`, in order; without any, `ask` is undefined (not a terminal). */
  ask: ((question: string) => Promise<string>) | undefined;
  readonly outputIsPipe: boolean;
  /** After this many `show`n lines the reader "closes the pipe". */
  constructor(options: { answers?: string[]; closeAfter?: number; pipe?: boolean } = {}) {
    this.outputIsPipe = options.pipe ?? false;
    const answers = options.answers;
    this.ask = answers
      ? async (question) => {
          this.stderr.push(question);
          return answers.shift() ?? '';
        }
      : undefined;
    this.closeAfter = options.closeAfter ?? Number.POSITIVE_INFINITY;
  }
  private readonly closeAfter: number;
  out(line: string): void {
    this.stdout.push(line);
  }
  err(line: string): void {
    this.stderr.push(line);
  }
  async show(line: string): Promise<boolean> {
    if (this.stdout.length >= this.closeAfter) return false;
    this.stdout.push(line);
    return true;
  }
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

/**
 * A one-line progress display redrawn in place on stderr, only on a terminal:
 * `sigmate [#####.....] 250/500 · 180/s · ETA 2s · 3 errors`; a `detail` replaces the error count.
 */
export function progressBar(
  io: Io,
  total: number,
  label: string,
  clock: () => number = Date.now,
): (done: number, errors?: number, detail?: string) => void {
  const write = io.progress;
  if (!write || total <= 1) return () => {};
  const width = 20;
  const started = clock();
  let lastDraw = Number.NEGATIVE_INFINITY;
  return (done, errors = 0, detail) => {
    const now = clock();
    // Redraw at most 10 times a second, and always at the end.
    if (now - lastDraw < 100 && done !== total) return;
    lastDraw = now;
    const filled = Math.round((done / total) * width);
    const seconds = Math.max(0.001, (now - started) / 1000);
    const rate = done / seconds;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} · ${rate.toFixed(0)}/s · ETA ${duration(eta)} · ${detail ?? `${errors} error${errors === 1 ? '' : 's'}`}\u001b[K`,
    );
    if (done === total) write('\n');
  };
}
