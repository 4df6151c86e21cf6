/**
 * Sending commands to peers: one Redis pipeline per batch, in order, with the events that
 * report it (`command-sent`, `command-undeliverable`, `commands-acknowledged`). A command to a
 * peer that stopped or exited is reported undeliverable instead of sent. The sends in flight
 * are tracked, so the test's steps can wait until every one landed.
 */
import type { Coordination } from "../coordination/coordination.ts";
import { errorMessage } from "../base/errors.ts";
import type { UnstampedEvent } from "./events.ts";
import type { PeerStates } from "./peer_states.ts";
import type { OutgoingCommand } from "./test_steps.ts";

export interface CommandSenderOptions {
  /** Says why a peer cannot be sent commands any more (undefined: it can). */
  states: Pick<PeerStates, "undeliverableReason">;
  /** The run's coordination; only asked for once a batch has a deliverable command. */
  coordination: () => Pick<Coordination, "send">;
  emit: (event: UnstampedEvent) => void;
  /** A send failed: Redis is lost (the run halts). `message` says what was being done. */
  lost: (message: string) => void;
}

export class CommandSender {
  readonly #options: CommandSenderOptions;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: CommandSenderOptions) {
    this.#options = options;
  }

  /**
   * Sends commands in one pipeline, in order. Commands to peers that stopped or exited are
   * reported undeliverable instead. The pipeline is issued before any event is emitted, so
   * slow sinks do not delay it. A failed send is reported to `lost`; the promise never rejects.
   * @param lateMs for a timeline batch: how late it was dispatched (its ack is timed from its
   *   due time)
   * @param meanwhile called once the pipeline is written and before any event is emitted: a
   *   timeline batch's faults start there, so that neither the commands nor the faults wait for
   *   the other's request work or for the events' sinks
   */
  send(commands: OutgoingCommand[], lateMs?: number, meanwhile?: () => void): Promise<void> {
    const { states, emit } = this.#options;
    // The batch's due time on the timeline's clock (performance.now()), to time the ack.
    const due = lateMs === undefined ? undefined : performance.now() - lateMs;
    const deliverable: OutgoingCommand[] = [];
    const undeliverable: (OutgoingCommand & { reason: string })[] = [];
    for (const command of commands) {
      const reason = states.undeliverableReason(command.peer);
      if (reason === undefined) deliverable.push(command);
      else undeliverable.push({ ...command, reason });
    }
    let sending = Promise.resolve();
    if (deliverable.length > 0) {
      sending = this.#options.coordination()
        .send(deliverable.map(({ peer, command }) => ({ peer, command })))
        .then(
          () => {
            if (due !== undefined) this.#acknowledged(deliverable, performance.now() - due);
          },
          (error) => this.#options.lost(`sending commands: ${errorMessage(error)}`),
        );
      this.#inFlight.add(sending);
      sending.finally(() => this.#inFlight.delete(sending));
    }
    meanwhile?.();
    for (const { peer, command, index, dueMs } of deliverable) {
      emit({
        type: "command-sent",
        peer,
        command,
        ...(index !== undefined ? { index } : {}),
        ...(dueMs !== undefined ? { dueMs } : {}),
        ...(lateMs !== undefined && index !== undefined ? { lateMs } : {}),
      });
    }
    for (const { peer, command, index, reason } of undeliverable) {
      emit({
        type: "command-undeliverable",
        peer,
        command,
        reason,
        ...(index !== undefined ? { index } : {}),
      });
    }
    return sending;
  }

  /** Resolves once every send in flight has landed (or failed, which `lost` was told). */
  landed(): Promise<void> {
    return Promise.all(this.#inFlight).then(() => {});
  }

  /** Reports that Redis acknowledged a timeline batch's pipeline, `ackLateMs` after it was due. */
  #acknowledged(sent: OutgoingCommand[], ackLateMs: number): void {
    const indexes = sent.flatMap(({ index }) => index === undefined ? [] : [index]);
    const dueMs = sent[0]?.dueMs;
    if (indexes.length === 0 || dueMs === undefined) return;
    this.#options.emit({ type: "commands-acknowledged", indexes, dueMs, ackLateMs });
  }
}
