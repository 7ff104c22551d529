/**
 * A transport-agnostic client for the API contract: correlates responses with requests and
 * dispatches pushes. The renderer (WebSocket or MessagePort) and the CLI (in-process link to
 * the engine supervisor) both use it, so they speak the contract the same way.
 */
import type { ApiError, MethodName, ParamsOf, PushOf, PushTopic, RequestEnvelope, ResultOf, ServerMessage } from './api.ts';

export class ApiRequestError extends Error {
  override readonly name = 'ApiRequestError';
  readonly code: ApiError['code'];
  readonly issues: ApiError['issues'];

  constructor(error: ApiError) {
    super(error.message);
    this.code = error.code;
    this.issues = error.issues;
  }
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: ApiRequestError) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

type Listener = (data: never) => void;

export class ApiClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<PushTopic, Set<Listener>>();

  constructor(private readonly send: (message: RequestEnvelope) => void) {}

  request<M extends MethodName>(method: M, params: ParamsOf<M>, timeoutMs = 30_000): Promise<ResultOf<M>> {
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.pending.delete(id);
              reject(new ApiRequestError({ code: 'unavailable', message: `${method}: no answer from the engine within ${timeoutMs} ms`, issues: [] }));
            }, timeoutMs)
          : undefined;
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      try {
        this.send({ type: 'request', id, method, params });
      } catch (error) {
        this.settle(id, { ok: false, error: { code: 'unavailable', message: `${method}: ${(error as Error).message}`, issues: [] } });
      }
    });
  }

  on<T extends PushTopic>(topic: T, listener: (data: PushOf<T>) => void): () => void {
    let set = this.listeners.get(topic);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener as Listener);
    return () => set.delete(listener as Listener);
  }

  /** Feed every message from the engine here. */
  handle(message: ServerMessage): void {
    if (message.type === 'push') {
      for (const listener of this.listeners.get(message.topic) ?? []) (listener as (data: unknown) => void)(message.data);
      return;
    }
    if (typeof message.id !== 'number') return;
    this.settle(message.id, message.ok ? { ok: true, result: message.result } : { ok: false, error: message.error });
  }

  /** The connection is gone: every request in flight fails with `unavailable`. */
  failAll(message: string): void {
    for (const id of [...this.pending.keys()]) this.settle(id, { ok: false, error: { code: 'unavailable', message, issues: [] } });
  }

  private settle(id: number, outcome: { ok: true; result: unknown } | { ok: false; error: ApiError }): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    if (pending.timer !== undefined) clearTimeout(pending.timer);
    if (outcome.ok) pending.resolve(outcome.result);
    else pending.reject(new ApiRequestError(outcome.error));
  }
}
