/** Where a command writes: stdout for results, stderr for progress and notes. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
  /** Raw stderr write (no newline), for an in-place progress bar; undefined when not a TTY. */
  progress?: ((text: string) => void) | undefined;
}

/** The process's own streams. */
export function processIo(): Io {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    progress: process.stderr.isTTY ? (text) => process.stderr.write(text) : undefined,
  };
}

/** Captures every line, for tests. */
export class MemoryIo implements Io {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  out(line: string): void {
    this.stdout.push(line);
  }
  err(line: string): void {
    this.stderr.push(line);
  }
}

/** A one-line progress bar redrawn in place: `[#####.....] 250/500`. */
export function progressBar(io: Io, total: number, label: string): (done: number) => void {
  const write = io.progress;
  if (!write || total <= 1) return () => {};
  const width = 30;
  let last = -1;
  return (done) => {
    const filled = Math.round((done / total) * width);
    if (filled === last && done !== total) return;
    last = filled;
    write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
    if (done === total) write('\n');
  };
}
