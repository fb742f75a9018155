// Whether the engine can be reached now. Browser mode reports the WebSocket closing and reopening
// (the client reconnects by itself); Electron's IPC is always there. A change is an app event too.
import { useEffect, useState } from 'react';
import { emitAppEvent } from '../app-events';
import type { ConnectionState, LabClient } from '../lab-client';

export function useConnection(client: LabClient, onChange: (s: ConnectionState) => void): ConnectionState {
  const [state, setState] = useState<ConnectionState>({ online: true });
  useEffect(
    () =>
      client.onConnection?.((s) => {
        setState(s);
        emitAppEvent('connection', s.online ? { online: true } : { online: false, reason: s.reason });
        onChange(s);
      }),
    [client, onChange],
  );
  return state;
}
