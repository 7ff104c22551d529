/**
 * Debates with real models. The debate engine is pure and synchronous; an `llm` agent's answer
 * comes from an oracle. This driver runs the debate, and when an agent's answer is not known yet
 * (PromptNeeded) asks the model client, keeps the reply, and runs the debate again from the
 * start: every pass replays the same beginning and gets one answer further. With a recording in
 * replay mode the client never opens a socket, so a recorded debate replays identically with
 * the model server stopped.
 *
 * Every exchange is returned as a `ModelExchanged` event (the key: SHA-256 of model, messages
 * and parameters; the logical request and result, never latency), to be appended with the
 * debate's events.
 */
import { canonicalJson, type JsonValue } from '../core/kernel/canonical.ts';
import { createRandom } from '../core/kernel/random.ts';
import { PromptNeeded, type ModelPrompt, type ModelReply } from '../core/debate/agents.ts';
import { runDebate } from '../core/debate/debate.ts';
import type { DebateOutcome } from '../core/debate/records.ts';
import type { DebateSpec } from '../core/debate/spec.ts';
import { logicalResult, type ModelClient } from './model-client.ts';

export const modelExchangedType = 'ModelExchanged';

export interface ModelDebate {
  readonly outcome: DebateOutcome;
  /** One event per model exchange, in the order they were needed. */
  readonly exchanges: readonly { readonly type: string; readonly payload: { readonly [key: string]: JsonValue } }[];
  /** Passes of the pure debate it took (answers needed + 1). */
  readonly passes: number;
}

/** The chat messages for a prompt: the question, the options, and what the agent heard. */
export function promptMessages(prompt: ModelPrompt): { role: 'user'; content: string }[] {
  const lines = [
    prompt.persona === '' ? `You are ${prompt.agent}, one of several agents debating a question.` : `You are ${prompt.agent}. ${prompt.persona}`,
    `Question: ${prompt.question}`,
    prompt.options === null ? 'Answer with a number.' : `Answer with one of: ${prompt.options.join(', ')}.`,
    `Round ${prompt.round}${prompt.role === 'debater' ? '' : ` (you argue as the ${prompt.role})`}.`,
  ];
  if (prompt.heard.length > 0) {
    lines.push('Since your last turn you heard:');
    for (const heard of prompt.heard) lines.push(`- ${heard.from} (round ${heard.round}): ${heard.answer}, confidence ${heard.confidence}`);
  }
  return [{ role: 'user', content: lines.join('\n') }];
}

export async function runModelDebate(spec: DebateSpec, seed: number, client: ModelClient, options: { readonly maxPasses?: number } = {}): Promise<ModelDebate> {
  const replies = new Map<string, ModelReply | null>();
  const exchanges: ModelDebate['exchanges'][number][] = [];
  const maxPasses = options.maxPasses ?? 10_000;
  for (let pass = 1; pass <= maxPasses; pass++) {
    let needed: ModelPrompt;
    try {
      const outcome = runDebate(spec, createRandom(seed), { oracle: { answer: (prompt) => replies.get(canonicalJson(prompt as unknown as JsonValue)) } });
      return { outcome, exchanges, passes: pass };
    } catch (error) {
      if (!(error instanceof PromptNeeded)) throw error;
      needed = error.prompt;
    }
    const request = { agent: needed.endpoint, messages: promptMessages(needed), params: { ...(needed.options === null ? {} : { options: needed.options }), seed } };
    const result = await client.complete(request);
    const logical = logicalResult(result);
    replies.set(
      canonicalJson(needed as unknown as JsonValue),
      result.kind === 'answer' ? { answer: String(result.answer), confidence: result.confidence ?? 0.5, rationale: result.rationale ?? '' } : null,
    );
    exchanges.push({ type: modelExchangedType, payload: { debateId: spec.debateId, agent: needed.agent, round: needed.round, key: result.key, result: JSON.parse(JSON.stringify(logical)) as JsonValue } });
  }
  throw new Error(`debate ${spec.debateId} needed more than ${maxPasses} model answers`);
}
