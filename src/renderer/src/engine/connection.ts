/**
 * The renderer's link to the engine: a WebSocket in browser mode, a MessagePort in the desktop
 * app. Reconnects by itself; the UI never blocks on it.
 */
import type { RequestEnvelope, ServerMessage } from '../../../shared/api.ts';
import { ApiClient } from '../../../shared/client.ts';

export type LinkState = 'connecting' | 'open' | 'closed';

export interface EngineConnection {
  readonly client: ApiClient;
  onState(listener: (state: LinkState) => void): () => void;
}

declare global {
  interface Window {
    /** Exposed by the desktop app's preload script; absent in browser mode. */
    auraLab?: { readonly desktop: true };
  }
}

const tokenKey = 'aura-lab-token';

/** Takes the launch secret from the URL (and removes it from the address bar and history). */
function takeToken(): string {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(tokenKey, fromUrl);
    url.searchParams.delete('token');
    window.history.replaceState(null, '', url.pathname + url.search + url.hash);
    return fromUrl;
  }
  return sessionStorage.getItem(tokenKey) ?? '';
}

export function connectToEngine(): EngineConnection {
  return window.auraLab?.desktop ? connectOverMessagePort() : connectOverWebSocket();
}

function makeStateEmitter(): { emit: (state: LinkState) => void; on: (listener: (state: LinkState) => void) => () => void } {
  const listeners = new Set<(state: LinkState) => void>();
  let last: LinkState = 'connecting';
  return {
    emit: (state) => {
      last = state;
      for (const listener of listeners) listener(state);
    },
    on: (listener) => {
      listeners.add(listener);
      listener(last);
      return () => listeners.delete(listener);
    },
  };
}

function connectOverWebSocket(): EngineConnection {
  const token = takeToken();
  const states = makeStateEmitter();
  let socket: WebSocket | undefined;
  let backoffMs = 250;
  const client = new ApiClient((message: RequestEnvelope) => {
    if (socket?.readyState !== WebSocket.OPEN) throw new Error('not connected to the engine');
    socket.send(JSON.stringify(message));
  });
  const open = (): void => {
    states.emit('connecting');
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${window.location.host}/api?token=${encodeURIComponent(token)}`);
    socket = ws;
    ws.onopen = () => {
      backoffMs = 250;
      states.emit('open');
    };
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') client.handle(JSON.parse(event.data) as ServerMessage);
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      client.failAll('the connection to the engine was lost');
      states.emit('closed');
      setTimeout(open, backoffMs);
      backoffMs = Math.min(5_000, backoffMs * 2);
    };
  };
  open();
  return { client, onState: states.on };
}

function connectOverMessagePort(): EngineConnection {
  const states = makeStateEmitter();
  let port: MessagePort | undefined;
  const client = new ApiClient((message: RequestEnvelope) => {
    if (port === undefined) throw new Error('not connected to the engine');
    port.postMessage(message);
  });
  window.addEventListener('message', (event: MessageEvent) => {
    if (event.source !== window || event.data !== 'aura-engine-port' || event.ports[0] === undefined) return;
    port = event.ports[0];
    port.onmessage = (message: MessageEvent) => client.handle(message.data as ServerMessage);
    port.start();
    states.emit('open');
  });
  return { client, onState: states.on };
}
