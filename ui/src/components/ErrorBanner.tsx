import type { CommandError } from "../bindings";

/** A red banner with an error's message and its machine code. */
export function ErrorBanner({
  error,
  title,
  onRetry,
  onDismiss,
}: {
  error: CommandError;
  title?: string;
  onRetry?: () => void;
  onDismiss?: () => void;
}) {
  return (
    <div className="error-banner" role="alert" data-testid="error-banner">
      <div className="error-text">
        {title !== undefined && <strong className="error-title">{title}</strong>}
        <span className="error-message">{error.message}</span>
        <code className="error-code" data-testid="error-code">
          {error.code}
        </code>
      </div>
      <div className="error-actions">
        {onRetry && (
          <button type="button" className="btn btn-small" onClick={onRetry}>
            Retry
          </button>
        )}
        {onDismiss && (
          <button type="button" className="btn btn-small btn-ghost" onClick={onDismiss} aria-label="Dismiss">
            ×
          </button>
        )}
      </div>
    </div>
  );
}
