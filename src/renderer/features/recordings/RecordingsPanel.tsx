// Recordings: the library of microphone takes and imported files the engine keeps (recordings/ beside
// the models folder). Use one as the signal, play it, download it as WAV, rename or delete it.
// Deleting a recording never touches a model trained on it: each model trained on its own copy.
import { useState } from 'react';
import type { RecordingSummaryData } from '../../../shared/protocol';
import { formatSeconds } from '../../components/Waveform';

export interface RecordingsPanelProps {
  recordings: RecordingSummaryData[];
  /** Where the engine keeps them. */
  dir: string | null;
  /** The recording chosen as the signal, if one is. */
  chosen: string | null;
  unavailable?: string | null;
  onUse: (name: string, play?: boolean) => void;
  onDownload: (name: string) => void;
  onRename: (name: string, to: string) => Promise<boolean>;
  onDelete: (name: string) => void;
}

const NAME_RULE = /^[\w][\w .()-]{0,119}$/;

export function RecordingsPanel({ recordings, dir, chosen, unavailable, onUse, onDownload, onRename, onDelete }: RecordingsPanelProps) {
  const [editing, setEditing] = useState<{ name: string; text: string } | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const problem = editing && !NAME_RULE.test(editing.text) ? 'use letters, digits, spaces and . - _ ( )' : null;
  const saveRename = async () => {
    if (!editing || problem) return;
    if (editing.text === editing.name || (await onRename(editing.name, editing.text))) setEditing(null);
  };
  return (
    <section className="panel" aria-labelledby="recordings-h">
      <h2 id="recordings-h">Recordings</h2>
      {recordings.length === 0 ? (
        <p className="hint" data-testid="recordings-empty">
          No recordings yet: record the microphone or import an audio file above, and it is kept here.
        </p>
      ) : (
        <div className="table-scroll">
          <table className="models recordings" data-testid="recordings">
            <thead>
              <tr>
                <th scope="col">name</th>
                <th scope="col">length</th>
                <th scope="col">rate</th>
                <th scope="col" aria-label="actions" />
              </tr>
            </thead>
            <tbody>
              {recordings.map((r) => (
                <tr key={r.name} className={r.name === chosen ? 'selected' : undefined} data-testid={`recording-${r.name}`}>
                  <td>
                    {editing?.name === r.name ? (
                      <span className="rename">
                        <input
                          aria-label={`new name for ${r.name}`}
                          data-testid="rename-input"
                          value={editing.text}
                          aria-invalid={problem ? true : undefined}
                          title={problem ?? undefined}
                          autoFocus
                          onChange={(e) => setEditing({ name: r.name, text: e.target.value })}
                          onKeyDown={(e) => {
                            if (e.key === 'Enter') void saveRename();
                            if (e.key === 'Escape') setEditing(null);
                          }}
                        />
                        <button data-testid="rename-save" disabled={problem !== null} onClick={() => void saveRename()}>
                          Save
                        </button>
                        <button onClick={() => setEditing(null)}>Cancel</button>
                      </span>
                    ) : (
                      r.name
                    )}
                  </td>
                  <td>{formatSeconds(r.seconds)}</td>
                  <td>{(r.sampleRate / 1000).toLocaleString('en-US')} kHz</td>
                  <td className="actions">
                    {confirming === r.name ? (
                      <>
                        <span className="warn-text">Delete the file?</span>
                        <button
                          data-testid="delete-confirm"
                          onClick={() => {
                            setConfirming(null);
                            onDelete(r.name);
                          }}
                        >
                          Delete
                        </button>
                        <button onClick={() => setConfirming(null)}>Keep</button>
                      </>
                    ) : (
                      <>
                        <button data-testid="use-recording" disabled={!!unavailable} onClick={() => onUse(r.name)} title="Make it the signal: train on it, mark regions">
                          Use
                        </button>
                        <button data-testid="play-recording" disabled={!!unavailable} onClick={() => onUse(r.name, true)}>
                          Play
                        </button>
                        <button data-testid="download-recording" disabled={!!unavailable} onClick={() => onDownload(r.name)}>
                          Download
                        </button>
                        <button data-testid="rename-recording" disabled={!!unavailable} onClick={() => setEditing({ name: r.name, text: r.name })}>
                          Rename
                        </button>
                        <button data-testid="delete-recording" disabled={!!unavailable} onClick={() => setConfirming(r.name)} title="Models trained on it keep their own copy">
                          Delete
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {dir && <p className="hint">Kept in {dir}; models trained on a recording keep their own copy.</p>}
    </section>
  );
}
