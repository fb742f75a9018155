// Models: the saved ones with their settings and metrics; open one (its loss curve), delete one.
import type { ModelSummary } from '../../../shared/protocol';

export interface ModelsPanelProps {
  models: ModelSummary[];
  selected: string | null;
  onOpen: (name: string) => void;
  onDelete: (name: string) => void;
  onRefresh: () => void;
}

const fmt = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toPrecision(3));

export function ModelsPanel({ models, selected, onOpen, onDelete, onRefresh }: ModelsPanelProps) {
  return (
    <section className="panel" aria-labelledby="models-h">
      <h2 id="models-h">
        Models <button onClick={onRefresh}>Refresh</button>
      </h2>
      {models.length === 0 ? (
        <p className="hint">No saved models yet: train one.</p>
      ) : (
        <table className="models" data-testid="models">
          <thead>
            <tr>
              <th>name</th>
              <th>net</th>
              <th>signal</th>
              <th>epochs</th>
              <th>test MSE</th>
              <th>AR</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.name} className={m.name === selected ? 'selected' : ''}>
                <td>
                  <button className="link" onClick={() => onOpen(m.name)}>
                    {m.name}
                  </button>
                </td>
                <td>
                  {m.type.toUpperCase()} {m.units.join('×')}, w{m.window}
                </td>
                <td>{m.source}</td>
                <td>
                  {m.epochsDone}/{m.epochs} {m.status === 'checkpoint' ? '(checkpoint)' : ''}
                </td>
                <td>{fmt(m.metrics?.test_mse)}</td>
                <td>{fmt(m.metrics?.ar_mse)}</td>
                <td>
                  <button aria-label={`delete ${m.name}`} onClick={() => confirm(`Delete model ${m.name}?`) && onDelete(m.name)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
