/* eslint-disable no-control-regex -- finding control characters is what this file is for */
// A log line is data, not terminal commands: an ESC, a C1 control (U+009B is a CSI on some
// terminals) or a CR in it could clear the screen, retitle the window, set the clipboard or
// overwrite the line before it. Each is printed as a visible \u001b escape instead.
const hex = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

// C0 controls but tab and newline, DEL, C1
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// the same, and newline: one log line stays one line on the screen
const CONTROL_OR_NEWLINE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
// the same, but ESC starting a colour (SGR) sequence: the pretty printer's own colours
const CONTROL_BUT_COLOUR = /\u001b(?!\[[0-9;]*m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f]/g;
const C1 = /[\u007f-\u009f]/g;
// DEL and C1: JSON.stringify leaves them raw; CR: a valid JSON line may hold one between tokens
const RAW_IN_JSON = /[\r\u007f-\u009f]/g;

/** Text for a terminal, on one line: every control character as \uXXXX. */
export function visibleLine(s: string): string {
  return s.replace(CONTROL_OR_NEWLINE, hex);
}

/** Text for a terminal that may span lines (a pretty-printed error): controls but newline escaped. */
export function visibleText(s: string, colour: boolean): string {
  return s.replace(colour ? CONTROL_BUT_COLOUR : CONTROL, hex);
}

/** A string that JSON.stringify will encode: its DEL and C1 characters, which it leaves raw, escaped. */
export function escapeC1(s: string): string {
  return s.replace(C1, hex);
}

/** A JSON text with its raw DEL/C1 characters escaped: the same JSON value, safe on a terminal. */
export function safeJson(json: string): string {
  return json.replace(RAW_IN_JSON, (c) => (c === '\r' ? ' ' : hex(c)));
}
