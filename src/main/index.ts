/**
 * The Electron shell, kept thin: one window with Electron's security checklist applied, the
 * engine supervisor started, and a MessagePort relayed between the window and the engine.
 * Everything else (engine, UI) is the same code that runs in browser mode.
 */
import { join } from 'node:path';
import { homedir } from 'node:os';
import { app, BrowserWindow, MessageChannelMain, session, shell } from 'electron';
import { EngineSupervisor } from '../host/engine-supervisor.ts';
import { limits } from '../core/kernel/limits.ts';
import { errorResponse } from '../shared/api.ts';

const rendererUrl = process.env.ELECTRON_RENDERER_URL;
const rendererFile = join(import.meta.dirname, '../renderer/index.html');

function allowedOrigin(url: string): boolean {
  try {
    const parsed = new URL(url);
    if (rendererUrl) return parsed.origin === new URL(rendererUrl).origin;
    return parsed.protocol === 'file:' && decodeURIComponent(parsed.pathname) === rendererFile.replace(/\\/g, '/');
  } catch {
    return false;
  }
}

function lockDown(): void {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: {
        ...details.responseHeaders,
        'Content-Security-Policy': ["default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"],
      },
    });
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!allowedOrigin(url)) event.preventDefault();
    });
    contents.setWindowOpenHandler(({ url }) => {
      // Only plain web links leave the app, and only to the system browser.
      if (url.startsWith('https://')) void shell.openExternal(url);
      return { action: 'deny' };
    });
  });
}

async function createWindow(supervisor: EngineSupervisor): Promise<void> {
  const window = new BrowserWindow({
    width: 1280,
    height: 860,
    title: 'AURA Lab',
    webPreferences: {
      preload: join(import.meta.dirname, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    },
  });
  const { port1, port2 } = new MessageChannelMain();
  const link = supervisor.connect((message) => port1.postMessage(message));
  port1.on('message', (event) => {
    const size = JSON.stringify(event.data ?? null).length;
    if (size > limits.apiMessageBytesMax) {
      port1.postMessage(errorResponse(null, { code: 'limit', message: `message of ${size} bytes exceeds ${limits.apiMessageBytesMax}`, issues: [] }));
      return;
    }
    link.send(event.data);
  });
  port1.start();
  window.on('closed', () => link.close());
  window.webContents.on('did-finish-load', () => {
    // The port goes to our own page only: its frame must be the main frame at our origin.
    if (allowedOrigin(window.webContents.getURL())) window.webContents.postMessage('engine-port', null, [port2]);
  });
  if (rendererUrl) await window.loadURL(rendererUrl);
  else await window.loadFile(rendererFile);
}

async function start(): Promise<void> {
  await app.whenReady();
  lockDown();
  const supervisor = new EngineSupervisor({
    dataDir: process.env.AURA_LAB_HOME ?? join(homedir(), '.aura-lab'),
    scenariosDir: process.env.AURA_LAB_SCENARIOS_DIR ?? join(app.getAppPath(), 'scenarios'),
    log: (line) => process.stderr.write(`aura-lab: ${line}\n`),
  });
  await supervisor.start();
  await createWindow(supervisor);
  app.on('window-all-closed', () => {
    void supervisor.stop().finally(() => app.quit());
  });
}

void start();
