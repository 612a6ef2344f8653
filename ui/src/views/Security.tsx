import { useCallback, useEffect, useState } from "react";
import type { CommandError, CredentialView, KeySetupState, RotationReport } from "../bindings";
import { toCommandError } from "../backend";
import { useBackend } from "../context";
import { Badge } from "../components/Badge";
import { ErrorBanner } from "../components/ErrorBanner";
import { formatUtc } from "../format";

/** How a stored secret is shown: never more than its last 4 characters. */
export function maskedSecret(last4: string): string {
  return last4 === "" ? "••••" : `••••${last4.slice(-4)}`;
}

const FIELDS = ["api_key", "webhook_secret"] as const;

function KeyPanel({ onReady }: { onReady: () => void }) {
  const backend = useBackend();
  const [key, setKey] = useState<KeySetupState | null>(null);
  const [importing, setImporting] = useState("");
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const [rotation, setRotation] = useState<RotationReport | null>(null);

  const load = useCallback(async () => {
    try {
      setKey(await backend.vaultKeyState());
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend]);
  useEffect(() => {
    void load();
  }, [load]);

  const act = async (f: () => Promise<KeySetupState | void>) => {
    setBusy(true);
    setError(null);
    try {
      const next = await f();
      if (next) setKey(next);
      if (next && next.state === "ready") onReady();
    } catch (e) {
      setError(toCommandError(e));
    } finally {
      setBusy(false);
      setImporting("");
    }
  };

  return (
    <section className="panel" data-testid="key-panel" data-state={key?.state ?? ""}>
      <h3 className="panel-title">Master key</h3>
      {error !== null && <ErrorBanner error={error} title="Master key:" />}
      {key === null && error === null && <div className="muted">Checking the key source…</div>}
      {key !== null && (
        <>
          <p>
            <Badge tone={key.state === "ready" ? "good" : "bad"}>{key.state}</Badge> {key.message}
          </p>
          <p className="muted small">
            Source: {key.source}
            {key.versions.length > 0 ? ` · versions ${key.versions.join(", ")}` : ""}
          </p>
          {(key.state === "missing" || key.state === "wrong_key") && (
            <div className="key-setup" data-testid="key-setup">
              {key.state === "missing" && (
                <button
                  type="button"
                  className="btn btn-primary"
                  data-testid="create-key"
                  disabled={busy}
                  onClick={() => void act(() => backend.vaultCreateKey())}
                >
                  Create a new master key
                </button>
              )}
              <div className="export-bar">
                <input
                  type="password"
                  autoComplete="off"
                  className="export-path"
                  data-testid="import-key"
                  placeholder="Import an existing key: v1:<64 hex digits> (never shown again)"
                  value={importing}
                  onChange={(e) => setImporting(e.target.value)}
                />
                <button
                  type="button"
                  className="btn"
                  disabled={busy || importing.trim() === ""}
                  onClick={() => void act(() => backend.vaultImportKey(importing.trim()))}
                >
                  Import existing key
                </button>
              </div>
            </div>
          )}
          {key.state === "ready" && (
            <div className="export-bar">
              <button
                type="button"
                className="btn"
                data-testid="rotate-key"
                disabled={busy}
                onClick={() =>
                  void act(async () => {
                    setRotation(await backend.rotateMasterKey());
                  })
                }
              >
                Rotate master key
              </button>
              {rotation !== null && (
                <span className="muted" data-testid="rotation">
                  version {rotation.to_version}: {rotation.rewrapped} data keys re-wrapped, {rotation.remaining} remaining
                  {rotation.finished ? " · finished" : ""}
                </span>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}

function SetSecretForm({
  connectorId,
  field,
  onDone,
  onCancel,
}: {
  connectorId: string;
  field: string;
  onDone: (c: CredentialView) => void;
  onCancel: () => void;
}) {
  const backend = useBackend();
  const [secret, setSecret] = useState("");
  const [reason, setReason] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<CommandError | null>(null);
  const [busy, setBusy] = useState(false);
  const problem =
    secret.trim() === "" ? "Enter the new secret." : reason.trim().length < 3 ? "A reason (3+ characters) is required." : null;
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    if (problem !== null) return;
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setBusy(true);
    try {
      const saved = await backend.setCredential({ connector_id: connectorId, field, secret: secret.trim(), reason: reason.trim() });
      setSecret("");
      onDone(saved);
    } catch (err) {
      setError(toCommandError(err));
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="weight-form" onSubmit={(e) => void submit(e)} data-testid="secret-form">
      <input
        type="password"
        autoComplete="new-password"
        data-testid="secret-input"
        placeholder={`new ${field} (write-only)`}
        value={secret}
        onChange={(e) => {
          setSecret(e.target.value);
          setConfirming(false);
        }}
      />
      <input
        data-testid="secret-reason"
        placeholder="Reason (required, audited)"
        value={reason}
        onChange={(e) => {
          setReason(e.target.value);
          setConfirming(false);
        }}
      />
      {problem !== null && secret !== "" && <span className="form-invalid">{problem}</span>}
      {confirming && (
        <div className="confirm" data-testid="confirm-secret">
          Replace the {field} of this connector? The old value stops working for new payments.
        </div>
      )}
      {error !== null && <ErrorBanner error={error} title="Not saved:" />}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" data-testid="save-secret" disabled={busy || problem !== null}>
          {confirming ? "Confirm" : "Save…"}
        </button>
        <button type="button" className="btn btn-ghost" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

export function Security({ connectors }: { connectors: { id: string; name: string }[] }) {
  const backend = useBackend();
  const [creds, setCreds] = useState<CredentialView[] | null>(null);
  const [error, setError] = useState<CommandError | null>(null);
  const [editing, setEditing] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      setCreds(await backend.listCredentials());
      setError(null);
    } catch (e) {
      setError(toCommandError(e));
    }
  }, [backend]);
  useEffect(() => {
    void load();
  }, [load]);

  const nameOf = (id: string) => connectors.find((c) => c.id === id)?.name ?? id;
  const ids = [...new Set([...connectors.map((c) => c.id), ...(creds ?? []).map((c) => c.connector_id)])];

  return (
    <section className="view">
      <div className="view-head">
        <h2>Security · credentials</h2>
      </div>
      <KeyPanel onReady={() => void load()} />
      {error !== null && <ErrorBanner error={error} title="Credentials:" onRetry={() => void load()} />}
      {creds !== null && (
        <section className="panel panel-flush">
          <table className="table" data-testid="credentials">
            <thead>
              <tr>
                <th>Connector</th>
                <th style={{ width: 140 }}>Field</th>
                <th style={{ width: 140 }}>Secret</th>
                <th style={{ width: 90 }}>Key version</th>
                <th style={{ width: 160 }}>Set (UTC)</th>
                <th style={{ width: 380 }} />
              </tr>
            </thead>
            <tbody>
              {ids.flatMap((id) =>
                FIELDS.map((field) => {
                  const c = creds.find((x) => x.connector_id === id && x.field === field);
                  const key = `${id}:${field}`;
                  return (
                    <tr key={key} data-testid="credential-row" data-connector={nameOf(id)} data-field={field}>
                      <td>{nameOf(id)}</td>
                      <td className="mono">{field}</td>
                      <td className="mono" data-testid="masked">
                        {c ? maskedSecret(c.last4) : <span className="muted">not set</span>}
                      </td>
                      <td className="mono">{c?.key_version ?? (c ? "plaintext" : "—")}</td>
                      <td className="mono">{c ? formatUtc(c.updated_at_ms) : "—"}</td>
                      <td>
                        {editing === key ? (
                          <SetSecretForm
                            connectorId={id}
                            field={field}
                            onCancel={() => setEditing(null)}
                            onDone={() => {
                              setEditing(null);
                              void load();
                            }}
                          />
                        ) : (
                          <button type="button" className="btn btn-small" data-testid="replace-secret" onClick={() => setEditing(key)}>
                            {c ? "Replace" : "Set"}
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                }),
              )}
            </tbody>
          </table>
        </section>
      )}
    </section>
  );
}
