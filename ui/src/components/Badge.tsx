import type { OutcomeClass, PaymentStatus } from "../bindings";
import { OUTCOME_LABELS, STATUS_LABELS, humanize } from "../format";

/** A small coloured label; `tone` picks the colour class (`badge-<tone>`). */
export function Badge({ tone, children, title }: { tone: string; children: React.ReactNode; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {children}
    </span>
  );
}

export function PaymentStatusBadge({ status }: { status: PaymentStatus }) {
  return (
    <Badge tone={`ps-${status}`} title={`payment status: ${status}`}>
      {STATUS_LABELS[status]}
    </Badge>
  );
}

export function OutcomeBadge({ outcome }: { outcome: OutcomeClass | null }) {
  if (outcome === null) return <Badge tone="muted">no outcome yet</Badge>;
  return (
    <span className={`badge badge-oc-${outcome}`} data-testid="outcome-class" data-outcome={outcome}>
      {OUTCOME_LABELS[outcome]}
    </span>
  );
}

const ATTEMPT_TONES: Record<string, string> = {
  succeeded: "good",
  failed: "bad",
  pending: "info",
  requires_action: "action",
  unknown: "warn",
};

export function AttemptStatusBadge({ status }: { status: string }) {
  return <Badge tone={ATTEMPT_TONES[status] ?? "muted"}>{humanize(status)}</Badge>;
}

const CIRCUIT_TONES: Record<string, string> = { closed: "good", half_open: "warn", open: "bad" };

export function CircuitBadge({ circuit }: { circuit: string }) {
  return (
    <Badge tone={CIRCUIT_TONES[circuit] ?? "muted"} title="circuit breaker">
      circuit {humanize(circuit)}
    </Badge>
  );
}
