import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { lineDiff, parseValue, valueText } from "../policyModel";
import { Policies } from "../views/Policies";
import { connectors, mockBackend, policyState } from "./fixtures";
import { renderWith } from "./render";

describe("Policies", () => {
  it("edits a rule in the form, shows validation issues, diffs, simulates and publishes with a note", async () => {
    const user = userEvent.setup();
    const backend = mockBackend({
      validatePolicy: async (json) => ({
        issues: json.includes('"connectors": []') ? [{ rule: 0, code: "empty_path", message: "rule 1 routes to no connector" }] : [],
      }),
    });
    renderWith(backend, <Policies />);
    const rule = await screen.findByTestId("rule");
    expect(within(rule).getByTestId("rule-name")).toHaveValue("EUR to EU");
    await waitFor(() => expect(screen.getByTestId("policy-valid")).toBeInTheDocument());
    // Publishing an unchanged draft is pointless.
    expect(screen.getByTestId("publish")).toBeDisabled();

    // Remove the only connector: the backend reports an empty path, shown on the rule; publish is blocked.
    await user.click(within(rule).getByRole("button", { name: "Remove Stripe EU Backup" }));
    await waitFor(() => expect(screen.getByTestId("policy-issues")).toHaveTextContent("empty_path"));
    expect(within(screen.getByTestId("rule")).getByTestId("rule-issue")).toHaveTextContent("routes to no connector");
    await user.type(screen.getByTestId("publish-note"), "try");
    expect(screen.getByTestId("publish")).toBeDisabled();

    // Route to Stripe US instead.
    await user.selectOptions(within(screen.getByTestId("rule")).getByTestId("add-connector"), connectors[0]!.id);
    await waitFor(() => expect(screen.getByTestId("policy-valid")).toBeInTheDocument());

    await user.click(screen.getByTestId("tab-diff"));
    const diff = screen.getByTestId("policy-diff");
    expect(diff.querySelector(".diff-del")).toHaveTextContent(connectors[1]!.id);
    expect(diff.querySelector(".diff-add")).toHaveTextContent(connectors[0]!.id);

    await user.clear(screen.getByTestId("sim-days"));
    await user.type(screen.getByTestId("sim-days"), "30");
    await user.click(screen.getByTestId("simulate"));
    expect(backend.simulatePolicy).toHaveBeenCalledWith(expect.stringContaining(connectors[0]!.id), 30);
    expect(await screen.findByTestId("sim-changed")).toHaveTextContent("480");
    expect(screen.getAllByTestId("sim-share")[1]).toHaveTextContent("50.0%");

    await user.click(screen.getByTestId("publish"));
    expect(backend.publishPolicy).not.toHaveBeenCalled();
    await user.click(screen.getByTestId("publish-confirm-yes"));
    expect(backend.publishPolicy).toHaveBeenCalledWith(expect.stringContaining(connectors[0]!.id), "try");
    expect(await screen.findByTestId("published")).toHaveTextContent("Published version 4.");
  });

  it("reports invalid JSON in the JSON view without calling validate", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Policies />);
    await screen.findByTestId("rule");
    await waitFor(() => expect(backend.validatePolicy).toHaveBeenCalledTimes(1));
    await user.click(screen.getByTestId("tab-json"));
    const editor = screen.getByTestId("policy-json");
    await user.clear(editor);
    await user.type(editor, "{{ nope");
    expect(screen.getByTestId("validation")).toHaveTextContent("Not valid JSON");
    expect(screen.getByTestId("simulate")).toBeDisabled();
  });

  it("explains a route for a hand-typed context with the draft", async () => {
    const user = userEvent.setup();
    const backend = mockBackend();
    renderWith(backend, <Policies />);
    await screen.findByTestId("rule");
    await user.click(screen.getByTestId("explain"));
    expect(backend.explainRoute).toHaveBeenCalledWith(expect.stringContaining('"currency": "USD"'), policyState.published!.json);
    const trace = await screen.findByTestId("route-trace");
    expect(within(trace).getAllByTestId("trace-entry")).toHaveLength(3);
  });

  it("parses form values per field and operator", () => {
    expect(parseValue("currency", "in", "eur, usd")).toEqual(["EUR", "USD"]);
    expect(parseValue("amount", "between", "100..5000")).toEqual([100, 5000]);
    expect(parseValue("card_brand", "eq", "VISA")).toBe("visa");
    expect(valueText({ field: "amount", op: "between", value: [1, 2] })).toBe("1..2");
    expect(lineDiff("a\nb\nc", "a\nc\nd")).toEqual([
      { kind: "same", text: "a" },
      { kind: "del", text: "b" },
      { kind: "same", text: "c" },
      { kind: "add", text: "d" },
    ]);
  });
});
