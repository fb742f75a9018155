// About this machine: what `sequence-lab doctor` prints, in the app. Each TensorFlow.js backend with
// whether it loaded and, if not, why and how to fix it; the Electron runtime, Chromium, the models
// folder and its free space. Asked of the engine when opened (its probes take a few seconds).
import { useState } from 'react';
import type { DoctorReportData } from '../../../shared/protocol';
import type { LabClient } from '../../lab-client';

export interface AboutPanelProps {
  client: LabClient;
}

const GB = 1024 ** 3;

export function AboutPanel({ client }: AboutPanelProps) {
  const [open, setOpen] = useState(false);
  const [report, setReport] = useState<DoctorReportData | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const check = async () => {
    setChecking(true);
    setError(null);
    try {
      setReport(await client.call('engine.doctor', {}));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setChecking(false);
    }
  };

  const toggle = () => {
    const next = !open;
    setOpen(next);
    if (next && !report && !checking) void check();
  };

  return (
    <div className="about">
      <button type="button" data-testid="about" aria-expanded={open} aria-controls="about-panel" onClick={toggle}>
        About this machine
      </button>
      {open && (
        <section id="about-panel" className="panel about-panel" aria-labelledby="about-h" data-testid="about-panel">
          <h2 id="about-h">This machine</h2>
          {checking && <p className="hint">Checking each backend…</p>}
          {error && (
            <p className="banner error" role="alert">
              Could not ask the engine: {error}
            </p>
          )}
          {report && (
            <>
              <p>
                The engine uses <strong data-testid="about-engine">{report.engineWouldUse ?? 'no backend'}</strong>. Node.js {report.node.version}
                {report.node.ok ? '' : ` (the lab wants ${report.node.engines})`}.
              </p>
              <table className="metrics" data-testid="about-backends">
                <caption>Backends, in the order the engine tries them</caption>
                <thead>
                  <tr>
                    <th scope="col">backend</th>
                    <th scope="col">loads</th>
                    <th scope="col">why not, and how to fix it</th>
                  </tr>
                </thead>
                <tbody>
                  {report.backends.map((b) => (
                    <tr key={b.name}>
                      <th scope="row">{b.name}</th>
                      <td>{b.loaded ? 'yes' : 'no'}</td>
                      <td>
                        {b.reason}
                        {b.fix && <div className="hint">fix: {b.fix}</div>}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              <p className="hint">
                CUDA: tfjs-node-gpu needs CUDA {report.cuda.needs.cuda} and cuDNN {report.cuda.needs.cudnn}; found {report.cuda.libcudart.join(', ') || 'no libcudart.so.11'},{' '}
                {report.cuda.libcudnn.join(', ') || 'no libcudnn.so.8'}; GPUs: {report.cuda.gpus === null ? 'nvidia-smi not found' : report.cuda.gpus.join('; ') || 'none'}.
              </p>
              <ul className="about-list">
                <li>Electron runtime: {report.electron.present ? `${report.electron.version ?? 'present'}` : `not available (${report.electron.reason ?? 'unknown'})`}</li>
                <li>Chromium (tests): {report.chromium.present ? (report.chromium.version ?? report.chromium.path) : 'not found'}</li>
                <li>
                  Models: {report.models.dir}, {report.models.models} saved
                  {report.models.freeBytes !== null ? `, ${(report.models.freeBytes / GB).toFixed(1)} GB free` : ''}
                  {report.models.problem ? ` (${report.models.problem})` : ''}
                </li>
              </ul>
              <button type="button" onClick={() => void check()} disabled={checking}>
                Check again
              </button>
            </>
          )}
        </section>
      )}
    </div>
  );
}
