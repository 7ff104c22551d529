/** A form of the Session tab: its fields, a submit button that says when it is busy, and its error. */
import type { ReactNode } from 'react';

export interface SubmitFormProps {
  readonly className: string;
  readonly label: string;
  readonly busyLabel: string;
  readonly busy: boolean;
  readonly disabled: boolean;
  readonly error: string | undefined;
  readonly onSubmit: () => void;
  /** The button's test id; the error's is `errorTestId`, by default `<testId>-error`. */
  readonly testId: string;
  readonly errorTestId?: string;
  readonly children: ReactNode;
}

export function SubmitForm({ className, label, busyLabel, busy, disabled, error, onSubmit, testId, errorTestId, children }: SubmitFormProps) {
  return (
    <form
      className={className}
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
      <button type="submit" disabled={busy || disabled} data-testid={testId}>
        {busy ? busyLabel : label}
      </button>
      {error !== undefined ? (
        <p className="error" data-testid={errorTestId ?? `${testId}-error`}>
          {error}
        </p>
      ) : null}
    </form>
  );
}
