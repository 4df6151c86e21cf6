/** The TUI sized to the terminal (re-laid out on resize). */
import { useWindowSize } from "ink";
import type { RunStore } from "../run_store.ts";
import { TuiApp } from "./app.tsx";

export interface TuiRootProps {
  store: RunStore;
  onStop: (force: boolean) => void;
  onQuit: () => void;
  color: boolean;
}

export function TuiRoot({ store, onStop, onQuit, color }: TuiRootProps) {
  const { columns, rows } = useWindowSize();
  return (
    <TuiApp
      store={store}
      onStop={onStop}
      onQuit={onQuit}
      columns={columns}
      rows={rows}
      color={color}
    />
  );
}
