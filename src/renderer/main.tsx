// Renderer entry: picks the transport (Electron's preload, else the WebSocket this page came from).
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { IpcLabClient, type PreloadLab } from './ipc-client';
import type { LabClient } from './lab-client';
import { WebSocketLabClient } from './ws-client';
import './styles.css';

declare global {
  interface Window {
    lab?: PreloadLab;
  }
}

const client: LabClient = window.lab ? new IpcLabClient(window.lab) : WebSocketLabClient.fromLocation(window.location);
createRoot(document.getElementById('root')!).render(<App client={client} />);
