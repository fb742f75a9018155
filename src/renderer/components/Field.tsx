// A labelled text input that keeps exactly what was typed and shows, beside it, what is wrong with
// it: aria-invalid and a message tied to the input with aria-describedby, so a screen reader says it too.
import { useId } from 'react';

export interface TextFieldProps {
  label: string;
  value: string;
  onChange: (text: string) => void;
  /** The user is done with the field: it lost focus, or Enter was pressed in it. */
  onCommit?: () => void;
  /** What is wrong with the value, in words; null or undefined when it is fine. */
  error?: string | null;
  /** 'decimal' for numbers: a text input (type=number would rewrite "1e-" or "-" while typing) with a numeric keyboard. */
  inputMode?: 'decimal' | 'numeric' | 'text';
  testId?: string;
  hint?: string;
  disabled?: boolean;
  className?: string;
}

export function TextField({ label, value, onChange, onCommit, error, inputMode = 'text', testId, hint, disabled, className }: TextFieldProps) {
  const id = useId();
  return (
    <label className={className}>
      {label}
      <input
        data-testid={testId}
        type="text"
        inputMode={inputMode}
        spellCheck={false}
        autoComplete="off"
        value={value}
        disabled={disabled}
        title={hint}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? `${id}-error` : undefined}
        onChange={(e) => onChange(e.target.value)}
        onBlur={onCommit}
        onKeyDown={onCommit ? (e) => e.key === 'Enter' && onCommit() : undefined}
      />
      {error && (
        <span id={`${id}-error`} className="field-error" data-testid={testId ? `${testId}-error` : undefined}>
          {error}
        </span>
      )}
    </label>
  );
}
