import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { connectToEngine } from './engine/connection.ts';
import { bindEngine } from './engine/engine-bridge.ts';
import './styles.css';

const commands = bindEngine(connectToEngine());
const root = document.getElementById('root');
if (root === null) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App commands={commands} />
  </StrictMode>,
);
