/**
 * What the model is asked to answer, and the check of what it answered (see model-client.ts).
 * The model must reply with one JSON object `{"answer": ..., "confidence": 0..1, "rationale":
 * "..."}` and nothing else; a single Markdown code fence around it is tolerated (local models
 * add one often). Everything else is malformed, with the offending text in the detail.
 */

export type ParsedAnswer =
  | { readonly ok: true; readonly answer: string | number; readonly confidence?: number; readonly rationale?: string }
  | { readonly ok: false; readonly detail: string };

/** Longest piece of model text quoted in a failure's detail. */
export const detailMaxChars = 500;

/** The system message the client puts first in every request. */
export function answerInstruction(options: readonly string[] | undefined): string {
  const base =
    'Reply with one JSON object and nothing else, of the form ' +
    '{"answer": "<your answer>", "confidence": <a number from 0 to 1>, "rationale": "<one or two sentences>"}.';
  if (options === undefined) return base;
  return `${base} The answer must be exactly one of: ${options.map((option) => JSON.stringify(option)).join(', ')}.`;
}

/** Cuts text to `max` characters, saying how much was left out. */
export function truncate(text: string, max = detailMaxChars): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

const fence = /^```[A-Za-z]*[ \t]*\r?\n([\s\S]*?)\r?\n?```$/;

export function parseModelAnswer(content: string, options: readonly string[] | undefined): ParsedAnswer {
  const trimmed = content.trim();
  const body = (fence.exec(trimmed)?.[1] ?? trimmed).trim();
  const bad = (why: string): ParsedAnswer => ({ ok: false, detail: `${why}: ${JSON.stringify(truncate(content))}` });
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return bad('the answer is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('the answer is not a JSON object');
  const record = value as Record<string, unknown>;

  let answer = record['answer'];
  if (typeof answer === 'string') answer = answer.trim();
  if (!((typeof answer === 'string' && answer !== '') || (typeof answer === 'number' && Number.isFinite(answer)))) {
    return bad('"answer" is missing or not a non-empty string or number');
  }
  if (options !== undefined) {
    const stated = String(answer);
    const exact = options.find((option) => option === stated);
    const folded = options.filter((option) => option.trim().toLowerCase() === stated.toLowerCase());
    const match = exact ?? (folded.length === 1 ? folded[0] : undefined);
    if (match === undefined) return bad(`"answer" ${JSON.stringify(truncate(stated, 100))} is not one of the options ${options.map((option) => JSON.stringify(option)).join(', ')}`);
    answer = match;
  }

  const confidence = record['confidence'];
  if (confidence !== undefined && confidence !== null && !(typeof confidence === 'number' && confidence >= 0 && confidence <= 1)) {
    return bad('"confidence" is not a number from 0 to 1');
  }
  const rationale = record['rationale'];
  if (rationale !== undefined && rationale !== null && typeof rationale !== 'string') return bad('"rationale" is not a string');

  return {
    ok: true,
    answer: answer as string | number,
    ...(typeof confidence === 'number' ? { confidence } : {}),
    ...(typeof rationale === 'string' ? { rationale } : {}),
  };
}
