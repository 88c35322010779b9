// The old Python stack's plain-text lines, so operators can check logs from before the move:
//   Python logging "%(asctime)s %(process)d %(message)s": 2026-11-28 17:15:55,123 12345 message
//   gunicorn:                    [2026-11-28 17:15:55 +0000] [12345] [INFO] message
export interface TextLine {
  /** Epoch ms; Python's asctime has no offset, so it is read as this machine's local time. */
  time: number;
  pid: number;
  /** pino's numbers: 20 debug, 30 info, 40 warn, 50 error, 60 fatal. */
  level: number;
  msg: string;
  event: 'feedback.started' | 'feedback.marked' | 'feedback.failed' | undefined;
  presentationId: string | undefined;
}

const PYTHON = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3}) (\d+) (.*)$/;
const GUNICORN = /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?: ([+-]\d\d):?(\d\d))?\] \[(\d+)\] \[([A-Z]+)\] (.*)$/;
const GUNICORN_LEVELS: Record<string, number> = { DEBUG: 20, INFO: 30, WARNING: 40, WARN: 40, ERROR: 50, CRITICAL: 60 };

// "für"/"Präsentation" as UTF-8, as U+FFFD (a Latin-1 file read as UTF-8), or spelt "ue"/"ae".
const FUER = 'f(?:ü|ue|\uFFFD)r';
const PRAES = 'Pr(?:ä|ae|\uFFFD)sentation';
const MESSAGES: { re: RegExp; event: NonNullable<TextLine['event']> }[] = [
  { re: new RegExp(`^Feedback (?:${FUER} ${PRAES}|for presentation) (\\S+) (?:markiert|marked)\\b`), event: 'feedback.marked' },
  { re: new RegExp(`^Feedback-Generierung ${FUER} ${PRAES} (\\S+) fehlgeschlagen`), event: 'feedback.failed' },
  { re: /^Feedback generation for presentation (\S+) failed/, event: 'feedback.failed' },
  { re: /^Feedback-Generierung fehlgeschlagen/, event: 'feedback.failed' },
  { re: new RegExp(`^Feedback (?:${FUER} ${PRAES} (\\S+) gestartet|for presentation (\\S+) started)`), event: 'feedback.started' },
];

/** What a message says about feedback, in German or English; undefined for anything else. */
export function classifyMessage(msg: string): { event: NonNullable<TextLine['event']>; presentationId: string | undefined } | undefined {
  if (!msg.startsWith('Feedback')) return undefined;
  for (const { re, event } of MESSAGES) {
    const m = re.exec(msg);
    if (m) return { event, presentationId: m[1] ?? m[2] };
  }
  return undefined;
}

export function parseTextLine(line: string): TextLine | undefined {
  const c = line.charCodeAt(0);
  if (c >= 48 && c <= 57) {
    const m = PYTHON.exec(line);
    if (!m) return undefined;
    const msg = m[5]!;
    const kind = classifyMessage(msg);
    return {
      time: new Date(`${m[1]}T${m[2]}.${m[3]}`).getTime(),
      pid: Number(m[4]),
      level: kind?.event === 'feedback.failed' ? 40 : 30,
      msg,
      event: kind?.event,
      presentationId: kind?.presentationId,
    };
  }
  if (c === 91 /* [ */) {
    const m = GUNICORN.exec(line);
    if (!m) return undefined;
    const msg = m[7]!;
    const kind = classifyMessage(msg);
    const offset = m[3] === undefined ? '' : `${m[3]}:${m[4]}`;
    return {
      time: new Date(`${m[1]}T${m[2]}${offset}`).getTime(),
      pid: Number(m[5]),
      level: GUNICORN_LEVELS[m[6]!] ?? 30,
      msg,
      event: kind?.event,
      presentationId: kind?.presentationId,
    };
  }
  return undefined;
}
