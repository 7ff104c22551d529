/** Annotations, newest first: author, run and position, time, text. */
import type { SessionAnnotation } from '../../../../shared/api.ts';

export function AnnotationItems({ annotations, testId }: { annotations: readonly SessionAnnotation[]; testId: string }) {
  return (
    <ul className="annotation-list" data-testid={`${testId}-list`}>
      {[...annotations].reverse().map((annotation) => (
        <li key={annotation.id} className="annotation" data-testid={testId} data-run={annotation.runId} data-position={annotation.position}>
          <div className="annotation-meta small">
            <strong>{annotation.author}</strong> <span className="muted">on {annotation.runId} at position {annotation.position.toLocaleString('en')} · {new Date(annotation.createdAtMs).toLocaleString()}</span>
          </div>
          <div className="annotation-text">{annotation.text}</div>
        </li>
      ))}
    </ul>
  );
}
