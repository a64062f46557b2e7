import type { IndexProgress } from './core/index/progress';

/**
 * Index progress on a terminal: a redrawn bar with counts and ETA on a TTY, and a plain line every
 * few seconds otherwise (CI logs, pipes), so logs stay readable.
 */
export class ProgressLine {
  private lastPlain = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream) {}

  note(text: string): void {
    this.clear();
    this.out.write(`nearby: ${text}\n`);
  }

  download(file: string, loaded: number, total?: number): void {
    const pct = total ? ` ${Math.floor((100 * loaded) / total)}%` : '';
    this.emit(`downloading ${file}${pct} (${(loaded / 1e6).toFixed(1)} MB)`);
  }

  update(p: IndexProgress): void {
    if (p.phase === 'scanning') return this.emit('scanning files...');
    if (p.phase !== 'indexing') return;
    const total = Math.max(p.filesTotal, 1);
    const pct = Math.floor((100 * p.filesDone) / total);
    const eta = p.etaSeconds !== undefined ? `, ETA ${formatSeconds(p.etaSeconds)}` : '';
    const counts = `${p.filesDone}/${p.filesTotal} files, ${p.chunksEmbedded} chunks embedded${eta}`;
    if (this.out.isTTY) {
      const width = 24;
      const filled = Math.round((width * p.filesDone) / total);
      this.draw(`[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${counts}`);
    } else {
      this.emit(`indexing ${pct}%: ${counts}`);
    }
  }

  done(): void {
    this.clear();
  }

  private emit(text: string): void {
    if (this.out.isTTY) return this.draw(text);
    const now = Date.now();
    if (now - this.lastPlain < 2_000) return;
    this.lastPlain = now;
    this.out.write(`nearby: ${text}\n`);
  }

  private draw(text: string): void {
    this.out.write(`\r${text.slice(0, (this.out.columns ?? 120) - 1)}\x1b[K`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
