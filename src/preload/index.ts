/**
 * The preload script: exposes nothing but a flag, and hands the engine's MessagePort to the
 * page through window.postMessage (ports cannot cross contextBridge).
 */
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('auraLab', { desktop: true });

ipcRenderer.on('engine-port', (event) => {
  window.postMessage('aura-engine-port', window.location.origin === 'null' ? '*' : window.location.origin, event.ports);
});
