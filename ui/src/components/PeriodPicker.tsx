import { PERIODS, type PeriodKey } from "../types";

/** Segmented control for the analytics period (1 h … 90 d). */
export function PeriodPicker({ value, onChange }: { value: PeriodKey; onChange: (p: PeriodKey) => void }) {
  return (
    <div className="segmented" role="radiogroup" aria-label="Period" data-testid="period-picker">
      {PERIODS.map((p) => (
        <button
          key={p.key}
          type="button"
          role="radio"
          aria-checked={value === p.key}
          className={`seg${value === p.key ? " active" : ""}`}
          data-testid={`period-${p.key}`}
          onClick={() => onChange(p.key)}
        >
          {p.label}
        </button>
      ))}
    </div>
  );
}
