/**
 * Escaping text for HTML and SVG (both text content and attribute values): every string that comes
 * from a run (action text, task ids, config values, metric names) goes through `escape` before it
 * reaches the page, so `<script>` in an agent's action is shown, never run.
 */

const ENTITIES: Readonly<Record<string, string>> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" }

/** Escapes `& < > " '`; also drops characters XML 1.0 forbids (control characters other than tab and newlines). */
export const escape = (text: string): string =>
  text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "")
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!)

/** Shortens text to at most `max` characters, ending with an ellipsis when cut. */
export const clip = (text: string, max: number): string => {
  const chars = [...text]
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join("")}\u2026`
}
