import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import type { Backend } from "../backend";
import { BackendProvider } from "../context";

/** Renders `ui` with `backend` in context, as main.tsx does with the real one. */
export function renderWith(backend: Backend, ui: ReactElement) {
  return render(<BackendProvider backend={backend}>{ui}</BackendProvider>);
}
