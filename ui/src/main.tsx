import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { tauriBackend } from "./backend";
import { BackendProvider } from "./context";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BackendProvider backend={tauriBackend}>
        <App />
      </BackendProvider>
    </StrictMode>,
  );
}
