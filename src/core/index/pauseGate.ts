/** Lets a long loop be paused from outside: the loop awaits `whenOpen()`, which resolves on resume. */
export class PauseGate {
  private waiting: Promise<void> | undefined;
  private release: (() => void) | undefined;

  get paused(): boolean {
    return this.waiting !== undefined;
  }

  pause(): void {
    if (this.waiting) return;
    this.waiting = new Promise((resolve) => (this.release = resolve));
  }

  resume(): void {
    const release = this.release;
    this.waiting = undefined;
    this.release = undefined;
    release?.();
  }

  whenOpen(): Promise<void> {
    return this.waiting ?? Promise.resolve();
  }
}
