import { useEffect, useState } from "react";

async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the selection-based copy
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  document.body.removeChild(area);
  return ok;
}

/** A value in monospace with a small copy button. */
export function Copyable({ value, label, short }: { value: string; label?: string; short?: boolean }) {
  const [state, setState] = useState<"idle" | "copied" | "failed">("idle");
  useEffect(() => {
    if (state === "idle") return;
    const t = window.setTimeout(() => setState("idle"), 1200);
    return () => window.clearTimeout(t);
  }, [state]);
  return (
    <span className="copyable">
      <code className={short ? "mono truncate" : "mono"} title={value}>
        {value}
      </code>
      <button
        type="button"
        className="copy-btn"
        aria-label={`Copy ${label ?? "value"}`}
        title={`Copy ${label ?? "value"}`}
        onClick={() => {
          void copyText(value).then((ok) => setState(ok ? "copied" : "failed"));
        }}
      >
        {state === "copied" ? "copied" : state === "failed" ? "failed" : "copy"}
      </button>
    </span>
  );
}
