/**
 * React hook: the run state of a `RunStore`, re-rendering on its (throttled) notifications and on
 * a steady tick for clocks and countdowns while the run is going.
 */
import { useEffect, useState } from "react";
import type { RunStore } from "./run_store.ts";
import type { RunState } from "./run_state.ts";

export interface RunView {
  state: RunState;
  /** Run time now, ms. */
  now: number;
  /** The store's version this render reflects. */
  version: number;
}

/**
 * @param tickMs clock refresh period while the run is going; 0 disables it (default 250)
 */
export function useRunState(store: RunStore, tickMs = 250): RunView {
  const [, setVersion] = useState(store.version);
  const [, setTick] = useState(0);
  useEffect(() => store.subscribe(() => setVersion(store.version)), [store]);
  const finished = store.state.finished !== undefined;
  useEffect(() => {
    if (tickMs <= 0 || finished) return;
    const timer = setInterval(() => setTick((n) => n + 1), tickMs);
    return () => clearInterval(timer);
  }, [store, tickMs, finished]);
  return { state: store.state, now: store.now(), version: store.version };
}
