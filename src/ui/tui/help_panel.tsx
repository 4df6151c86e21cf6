/** TUI help: the keys. */
import { Text } from "ink";
import { Panel } from "./panel.tsx";

export const KEYS: [string, string][] = [
  ["q, Ctrl+C", "stop the run gracefully; press again to force; quit once finished"],
  ["↑/↓, k/j", "select a peer"],
  ["K/J", "a page of peers up/down"],
  ["Enter", "show only the selected peer's logs (again: all peers)"],
  ["PgUp/PgDn", "scroll the logs; End follows the tail again"],
  ["/", "search the logs (Enter applies, Esc cancels)"],
  [":", "steer the run: send <peer> <command>, fault pause <peer>, ... (Tab completes)"],
  ["Esc", "clear the search and the peer filter"],
  ["?", "this help (any key closes it)"],
];

export function HelpPanel(
  { width, height, color }: { width: number; height: number; color: boolean },
) {
  const keyW = Math.max(...KEYS.map(([key]) => key.length));
  return (
    <Panel title="Help" note="any key closes" width={width} height={height} color={color}>
      {KEYS.map(([key, what]) => (
        <Text key={key} wrap="truncate-end">
          <Text bold={color} color={color ? "cyan" : undefined}>{"  " + key.padEnd(keyW)}</Text>
          {"  " + what}
        </Text>
      ))}
    </Panel>
  );
}
