/**
 * Steering a live run (docs/config.md, "Steering a live run"): the link from a view that takes
 * manual timeline entries (the TUI's `:` prompt) to the run that does them. The run opens it
 * while its timeline goes and closes it after, saying why; the view submits what was typed and
 * shows the answer. Synchronous: an entry is validated and dispatched before `submit` returns.
 */

/** The run's answer to one manual entry. */
export interface SteerResult {
  accepted: boolean;
  /** One line: what was done (`sent at t=12.3s: …`), or why not. */
  message: string;
}

/** Takes one typed entry. */
export type SteerHandler = (input: string) => SteerResult;

/** The channel between the view and the run; one per run. */
export class Steering {
  #handler: SteerHandler | undefined;
  #closed = "the run takes manual entries once its timeline has started";

  /** The run takes entries from now on, through `handler`. */
  open(handler: SteerHandler): void {
    this.#handler = handler;
  }

  /** No more entries; `reason` is the answer to any typed from now on. Idempotent. */
  close(reason: string): void {
    this.#handler = undefined;
    this.#closed = reason;
  }

  /** Hands `input` to the run, or says why it takes none now. */
  submit(input: string): SteerResult {
    return this.#handler ? this.#handler(input) : { accepted: false, message: this.#closed };
  }
}
