import { ApiRequestError } from '../../../shared/client.ts';

/** A failed request as one line for the UI: the message and the first issue's field. */
export function describeError(error: unknown): string {
  if (error instanceof ApiRequestError) {
    const issue = error.issues[0];
    return issue ? `${error.message}: ${issue.path.join('.')} ${issue.message}` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
