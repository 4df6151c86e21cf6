/** The TUI sized to the terminal (re-laid out on resize). */
import { useWindowSize } from "ink";
import type { RunStore } from "../run_store.ts";
import { TuiApp, type TuiAppProps } from "./app.tsx";

export interface TuiRootProps {
  store: RunStore;
  onStop: (force: boolean) => void;
  onQuit: () => void;
  color: boolean;
  steer?: TuiAppProps["steer"];
  complete?: TuiAppProps["complete"];
}

export function TuiRoot({ store, onStop, onQuit, color, steer, complete }: TuiRootProps) {
  const { columns, rows } = useWindowSize();
  return (
    <TuiApp
      store={store}
      onStop={onStop}
      onQuit={onQuit}
      columns={columns}
      rows={rows}
      color={color}
      {...(steer ? { steer } : {})}
      {...(complete ? { complete } : {})}
    />
  );
}
