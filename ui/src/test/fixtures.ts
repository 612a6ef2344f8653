// Mock data typed with the GENERATED bindings: when a Rust IPC type changes and the bindings
// are regenerated, this file stops compiling until the mocks follow.
import { vi, type Mock } from "vitest";
import type { Backend } from "../backend";
import type {
  AppInfo,
  AttemptView,
  AuditEntry,
  ConnectorView,
  PaymentDetail,
  PaymentSummary,
  CredentialView,
  KeySetupState,
  MerchantWebhookView,
} from "../bindings";
import type {
  ConnectorCard,
  FallbackMatrixView,
  FinanceTable,
  PaymentTimeline,
  PolicyState,
  SimulationResult,
  SuccessRateCharts,
} from "../types";

export const appInfo: AppInfo = {
  ready: true,
  error: null,
  merchant_id: "7d9f2c1e-0000-4000-8000-000000000001",
  merchant_name: "Acme Shop",
  database: "switchboard@127.0.0.1:5432/switchboard",
  actor: "console:tester",
  mode: "debug",
  version: "0.1.0",
};

export const connectors: ConnectorView[] = [
  {
    id: "c0000000-0000-4000-8000-000000000001",
    name: "Stripe US Primary",
    provider: "stripe",
    mode: "test",
    weight: 70,
    is_primary: true,
    status: "active",
    circuit: "closed",
    attempts_24h: 1200,
    approved_24h: 1100,
    approval_rate_24h: 0.9734,
    p95_latency_ms: 420,
  },
  {
    id: "c0000000-0000-4000-8000-000000000002",
    name: "Stripe EU Backup",
    provider: "stripe",
    mode: "test",
    weight: 30,
    is_primary: false,
    status: "active",
    circuit: "half_open",
    attempts_24h: 300,
    approved_24h: 250,
    approval_rate_24h: 0.8333,
    p95_latency_ms: 910,
  },
  {
    id: "c0000000-0000-4000-8000-000000000003",
    name: "Square Fallback",
    provider: "square",
    mode: "test",
    weight: 0,
    is_primary: false,
    status: "active",
    circuit: "open",
    attempts_24h: 0,
    approved_24h: 0,
    approval_rate_24h: null,
    p95_latency_ms: null,
  },
];

export const summary: PaymentSummary = {
  id: "a1b2c3d4-0000-4000-8000-0000000000aa",
  merchant_reference: "order-1001",
  amount_minor: 1050,
  currency: "EUR",
  amount_display: "10.50",
  status: "captured",
  created_at_ms: Date.UTC(2026, 10, 21, 9, 30, 0),
  attempt_count: 2,
  last_connector: "Stripe EU Backup",
};

const t0 = Date.UTC(2026, 10, 21, 9, 30, 0, 120);

export const attempts: AttemptView[] = [
  {
    id: "b0000000-0000-4000-8000-000000000001",
    seq: 1,
    connector_id: connectors[0]!.id,
    connector_name: "Stripe US Primary",
    provider: "stripe",
    status: "failed",
    outcome: "provider_unavailable",
    provider_reference: null,
    provider_status: null,
    http_status: 503,
    raw_code: "api_error",
    decline_code: null,
    message: "Service Unavailable",
    requested_at_ms: t0,
    responded_at_ms: t0 + 812,
    latency_ms: 812,
    next_step: "fall_back",
    next_step_detail: "fell back to Stripe EU Backup",
    reconciliation: null,
  },
  {
    id: "b0000000-0000-4000-8000-000000000002",
    seq: 2,
    connector_id: connectors[1]!.id,
    connector_name: "Stripe EU Backup",
    provider: "stripe",
    status: "succeeded",
    outcome: "approved",
    provider_reference: "pi_3Q0abc123",
    provider_status: "succeeded",
    http_status: 200,
    raw_code: null,
    decline_code: null,
    message: null,
    requested_at_ms: t0 + 830,
    responded_at_ms: t0 + 1290,
    latency_ms: 460,
    next_step: "succeed",
    next_step_detail: "approved: payment captured",
    reconciliation: null,
  },
];

export const detail: PaymentDetail = {
  summary,
  country: "DE",
  method: "card",
  capture_mode: "automatic",
  captured_minor: 1050,
  refunded_minor: 0,
  mode: "test",
  failure_code: null,
  failure_message: null,
  next_action_url: null,
  route: {
    source: { type: "weighted", roll: 0.42 },
    entries: [
      {
        connector_id: connectors[0]!.id,
        connector_name: "Stripe US Primary",
        verdict: { verdict: "selected", position: 0, reason: { type: "weighted_pick", lower: 0, upper: 0.7, roll: 0.42 } },
        explanation: "Stripe US Primary: selected #1, weighted pick (roll 0.42 in [0, 0.7))",
      },
      {
        connector_id: connectors[1]!.id,
        connector_name: "Stripe EU Backup",
        verdict: { verdict: "selected", position: 1, reason: { type: "weighted_order", weight: 30 } },
        explanation: "Stripe EU Backup: selected #2, next by weight (30)",
      },
      {
        connector_id: connectors[2]!.id,
        connector_name: "Square Fallback",
        verdict: { verdict: "skipped", reason: { type: "no_usable_token" } },
        explanation: "Square Fallback: skipped, no token usable on Square Fallback",
      },
    ],
  },
  attempts,
  events: [
    {
      id: 1,
      at_ms: t0 - 20,
      cause: "api",
      kind: "payment_created",
      from_status: null,
      to_status: "processing",
      attempt_id: null,
      detail: "POST /v1/payments",
    },
    {
      id: 2,
      at_ms: t0 + 1291,
      cause: "provider_response",
      kind: "status_changed",
      from_status: "processing",
      to_status: "captured",
      attempt_id: attempts[1]!.id,
      detail: "approved by Stripe EU Backup",
    },
  ],
  updated_at_ms: t0 + 1291,
};

export const audit: AuditEntry[] = [
  {
    id: 7,
    at_ms: Date.UTC(2026, 10, 21, 9, 0, 0),
    actor: "console:ana",
    entity: "connector",
    entity_id: connectors[2]!.id,
    action: "set_weight",
    reason: "INC-42 Square 5xx",
    before: '{"weight":20}',
    after: '{"weight":0}',
  },
];

const periodEnd = Date.UTC(2026, 10, 21, 12, 0, 0);
const periodStart = periodEnd - 86_400_000;

export const timeline: PaymentTimeline = {
  detail,
  start_ms: t0 - 20,
  end_ms: t0 + 1291,
  payment_marks: [
    { at_ms: t0 - 20, kind: "route_decided", label: "route: Stripe US Primary → Stripe EU Backup", detail: "Square Fallback skipped: no usable token" },
    { at_ms: t0 + 1291, kind: "status_changed", label: "processing → captured", detail: "" },
  ],
  lanes: [
    {
      attempt: attempts[0]!,
      marks: [
        { at_ms: t0, kind: "request_sent", label: "request sent", detail: "" },
        { at_ms: t0 + 812, kind: "response", label: "HTTP 503 api_error", detail: "Service Unavailable" },
        { at_ms: t0 + 812, kind: "fallback_decision", label: "fall back to Stripe EU Backup", detail: "" },
      ],
    },
    {
      attempt: attempts[1]!,
      marks: [
        { at_ms: t0 + 830, kind: "request_sent", label: "request sent", detail: "" },
        { at_ms: t0 + 1290, kind: "response", label: "HTTP 200 succeeded", detail: "" },
        { at_ms: t0 + 1291, kind: "provider_webhook_rejected", label: "webhook rejected: signature_mismatch", detail: "" },
      ],
    },
  ],
  charges: {
    holds: [
      {
        attempt_id: attempts[1]!.id,
        seq: 2,
        connector_name: "Stripe EU Backup",
        provider_reference: "pi_3Q0abc123",
        amount_minor: 1050,
        state: "charged",
      },
    ],
    charged_attempts: 1,
    possible_double_charge: false,
    verdict: "Charged once, on Stripe EU Backup (pi_3Q0abc123)",
  },
};

const cellSearch = (cls: string, id: string) => ({ outcome: cls as "approved", connector_id: id, from_ms: periodStart, to_ms: periodEnd });

export const matrix: FallbackMatrixView = {
  from_ms: periodStart,
  to_ms: periodEnd,
  connectors: connectors.map((c) => ({ id: c.id, name: c.name })),
  rows: [
    {
      class: "approved",
      action: "succeed",
      action_text: "succeed",
      configurable: false,
      cells: connectors.map((c, i) => ({ connector_id: c.id, observed: i === 0 ? 900 : 0, rescued: 0, search: cellSearch("approved", c.id) })),
    },
    {
      class: "hard_decline",
      action: "stop",
      action_text: "stop (same issuer everywhere)",
      configurable: false,
      cells: connectors.map((c, i) => ({ connector_id: c.id, observed: i === 0 ? 40 : 0, rescued: 0, search: cellSearch("hard_decline", c.id) })),
    },
    {
      class: "provider_unavailable",
      action: "fall_back",
      action_text: "fall back to the next connector",
      configurable: true,
      cells: connectors.map((c, i) => ({
        connector_id: c.id,
        observed: i === 0 ? 120 : 0,
        rescued: i === 0 ? 111 : 0,
        search: cellSearch("provider_unavailable", c.id),
      })),
    },
  ],
};

export const charts: SuccessRateCharts = {
  series: {
    definition: "approved / (approved + declined + failed) provider calls; a retry of the same attempt is counted once",
    start_ms: periodStart,
    bucket_ms: 3_600_000,
    buckets: 2,
    connectors: [
      {
        connector_id: connectors[0]!.id,
        name: "Stripe US Primary",
        approval_rate: [0.9, 0.92],
        traffic_share: [0.8, 0.8],
        p95_latency_ms: [400, 420],
        approved: [450, 460],
        counted: [500, 500],
      },
      {
        connector_id: connectors[2]!.id,
        name: "Square Fallback",
        approval_rate: [1, null],
        traffic_share: [0.2, 0.2],
        p95_latency_ms: [380, null],
        approved: [250, 0],
        counted: [250, 0],
      },
    ],
  },
  approval_svg: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  share_svg: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><circle r="5"/></svg>',
  latency_svg: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
};

export const finance: FinanceTable = {
  from_ms: periodStart,
  to_ms: periodEnd,
  rows: [
    {
      connector_id: connectors[0]!.id,
      connector_name: "Stripe US Primary",
      currency: "USD",
      calls: 1200,
      approved_count: 1100,
      volume_minor: 5_312_550,
      volume_display: "53125.50",
      approval_rate: 0.9167,
    },
    {
      connector_id: connectors[2]!.id,
      connector_name: "Square Fallback",
      currency: "USD",
      calls: 300,
      approved_count: 290,
      volume_minor: 1_200_000,
      volume_display: "12000.00",
      approval_rate: 0.9667,
    },
    {
      connector_id: connectors[1]!.id,
      connector_name: "Stripe EU Backup",
      currency: "EUR",
      calls: 400,
      approved_count: 380,
      volume_minor: 2_000_000,
      volume_display: "20000.00",
      approval_rate: 0.95,
    },
  ],
};

export const cards: ConnectorCard[] = connectors.map((c, i) => ({
  connector: c,
  calls_5m: i === 0 ? 40 : 0,
  approval_rate_5m: i === 0 ? 0.95 : null,
  approval_threshold: 0.8,
  failure_rate_5m: i === 0 ? 0.02 : null,
  failure_threshold: 0.2,
  restore_weight: i === 2 ? 20 : null,
  alerts: [],
}));

const publishedPolicy = {
  rules: [{ name: "EUR to EU", conditions: [{ field: "currency", op: "eq", value: "EUR" }], action: { type: "path", connectors: [connectors[1]!.id] } }],
  max_attempts: 3,
};
const publishedJson = JSON.stringify(publishedPolicy, null, 2);

export const policyState: PolicyState = {
  mode: "test",
  published: {
    id: "9a000000-0000-4000-8000-000000000001",
    version: 3,
    status: "published",
    json: publishedJson,
    note: "initial",
    created_at_ms: periodStart,
    published_at_ms: periodStart,
  },
  draft: null,
  connectors: connectors.map((c) => ({ id: c.id, name: c.name })),
};

export const simulation: SimulationResult = {
  days: 7,
  payments: 2400,
  share_before: [
    { connector_id: connectors[0]!.id, name: "Stripe US Primary", payments: 1680, share: 0.7 },
    { connector_id: connectors[1]!.id, name: "Stripe EU Backup", payments: 720, share: 0.3 },
  ],
  share_after: [
    { connector_id: connectors[0]!.id, name: "Stripe US Primary", payments: 1200, share: 0.5 },
    { connector_id: connectors[1]!.id, name: "Stripe EU Backup", payments: 1200, share: 0.5 },
  ],
  changed_count: 480,
  changed: [
    {
      payment_id: "p1000000-0000-4000-8000-000000000000",
      created_at_ms: periodEnd - 3_600_000,
      before: ["Stripe US Primary"],
      after: ["Stripe EU Backup"],
    },
  ],
  approach: "each stored payment context re-decided with its stored roll and today's connectors",
};

export const keyReady: KeySetupState = {
  state: "ready",
  source: "the OS keyring (service \"switchboard\")",
  versions: [1],
  message: "master key available",
};

export const credentials: CredentialView[] = [
  { connector_id: connectors[0]!.id, field: "api_key", last4: "4242", key_version: 1, updated_at_ms: periodStart },
];

export const merchantWebhooks: MerchantWebhookView[] = [
  {
    id: 12,
    event_type: "payment.captured",
    status: "failed",
    attempts: 2,
    next_attempt_at_ms: periodEnd,
    created_at_ms: periodEnd - 60_000,
    delivered_at_ms: null,
    payload: "{}",
    deliveries: [
      {
        id: 1,
        attempt: 1,
        at_ms: periodEnd - 60_000,
        url: "https://merchant.example/hooks",
        status_code: 500,
        latency_ms: 40,
        error: null,
        source: "worker",
        actor: null,
      },
    ],
  },
];

export type MockBackend = { [K in keyof Backend]: Mock<Backend[K]> };

/** A Backend whose every method is a vi.fn with happy defaults; override per test. */
export function mockBackend(overrides: Partial<Backend> = {}): MockBackend {
  return {
    appInfo: vi.fn<Backend["appInfo"]>(overrides.appInfo ?? (async () => appInfo)),
    listConnectors: vi.fn<Backend["listConnectors"]>(overrides.listConnectors ?? (async () => connectors)),
    setConnectorWeight: vi.fn<Backend["setConnectorWeight"]>(
      overrides.setConnectorWeight ??
        (async (req) => {
          const c = connectors.find((x) => x.id === req.connector_id) ?? connectors[0]!;
          return { ...c, weight: req.weight };
        }),
    ),
    searchPayments: vi.fn<Backend["searchPayments"]>(overrides.searchPayments ?? (async () => [summary])),
    getPayment: vi.fn<Backend["getPayment"]>(overrides.getPayment ?? (async () => detail)),
    auditLog: vi.fn<Backend["auditLog"]>(overrides.auditLog ?? (async () => audit)),
    searchPage: vi.fn<Backend["searchPage"]>(overrides.searchPage ?? (async () => ({ rows: [summary], next_cursor: null }))),
    paymentTimeline: vi.fn<Backend["paymentTimeline"]>(overrides.paymentTimeline ?? (async () => timeline)),
    fallbackMatrix: vi.fn<Backend["fallbackMatrix"]>(overrides.fallbackMatrix ?? (async () => matrix)),
    successCharts: vi.fn<Backend["successCharts"]>(overrides.successCharts ?? (async () => charts)),
    exportChart: vi.fn<Backend["exportChart"]>(
      overrides.exportChart ?? (async (_p, kind, format) => `/home/ana/Downloads/${kind}-24h.${format}`),
    ),
    finance: vi.fn<Backend["finance"]>(overrides.finance ?? (async () => finance)),
    startFinanceExport: vi.fn<Backend["startFinanceExport"]>(
      overrides.startFinanceExport ??
        (async () => ({ job_id: "job-1", progress: { rows_done: 0, rows_total: 3 }, finished: false, path: null, error: null })),
    ),
    exportStatus: vi.fn<Backend["exportStatus"]>(
      overrides.exportStatus ??
        (async () => ({
          job_id: "job-1",
          progress: { rows_done: 3, rows_total: 3 },
          finished: true,
          path: "/home/ana/Downloads/finance-24h.csv",
          error: null,
        })),
    ),
    connectorCards: vi.fn<Backend["connectorCards"]>(overrides.connectorCards ?? (async () => cards)),
    drainConnector: vi.fn<Backend["drainConnector"]>(
      overrides.drainConnector ??
        (async (a) => {
          const c = cards.find((x) => x.connector.id === a.connector_id) ?? cards[0]!;
          return { ...c, connector: { ...c.connector, weight: 0 } };
        }),
    ),
    restoreConnector: vi.fn<Backend["restoreConnector"]>(
      overrides.restoreConnector ??
        (async (a) => {
          const c = cards.find((x) => x.connector.id === a.connector_id) ?? cards[0]!;
          return { ...c, connector: { ...c.connector, weight: c.restore_weight ?? 1 }, restore_weight: null };
        }),
    ),
    policyState: vi.fn<Backend["policyState"]>(overrides.policyState ?? (async () => policyState)),
    validatePolicy: vi.fn<Backend["validatePolicy"]>(overrides.validatePolicy ?? (async () => ({ issues: [] }))),
    simulatePolicy: vi.fn<Backend["simulatePolicy"]>(overrides.simulatePolicy ?? (async () => simulation)),
    publishPolicy: vi.fn<Backend["publishPolicy"]>(
      overrides.publishPolicy ??
        (async (json, note) => ({
          ...policyState,
          published: { ...policyState.published!, version: 4, json, note },
          draft: null,
        })),
    ),
    explainRoute: vi.fn<Backend["explainRoute"]>(overrides.explainRoute ?? (async () => detail.route)),
    circuits: vi.fn<Backend["circuits"]>(overrides.circuits ?? (async () => [])),
    forceCircuit: vi.fn<Backend["forceCircuit"]>(
      overrides.forceCircuit ??
        (async (req) => ({
          connector_id: req.connector_id,
          circuit: req.mode === "auto" ? "closed" : req.mode,
          forced: req.mode === "auto" ? null : req.mode,
          generation: 1,
          since_ms: periodEnd,
          failure_threshold_pct: 50,
          window_ms: 10_000,
          min_samples: 20,
          cooldown_ms: 5000,
          probe_interval_ms: 200,
        })),
    ),
    merchantWebhooks: vi.fn<Backend["merchantWebhooks"]>(overrides.merchantWebhooks ?? (async () => merchantWebhooks)),
    replayMerchantWebhook: vi.fn<Backend["replayMerchantWebhook"]>(
      overrides.replayMerchantWebhook ??
        (async () => ({
          id: 99,
          attempt: 3,
          at_ms: periodEnd,
          url: "https://merchant.example/hooks",
          status_code: 200,
          latency_ms: 31,
          error: null,
          source: "replay",
          actor: "console:tester",
        })),
    ),
    vaultKeyState: vi.fn<Backend["vaultKeyState"]>(overrides.vaultKeyState ?? (async () => keyReady)),
    vaultCreateKey: vi.fn<Backend["vaultCreateKey"]>(overrides.vaultCreateKey ?? (async () => keyReady)),
    vaultImportKey: vi.fn<Backend["vaultImportKey"]>(overrides.vaultImportKey ?? (async () => keyReady)),
    listCredentials: vi.fn<Backend["listCredentials"]>(overrides.listCredentials ?? (async () => credentials)),
    setCredential: vi.fn<Backend["setCredential"]>(
      overrides.setCredential ??
        (async (req) => ({ connector_id: req.connector_id, field: req.field, last4: req.secret.slice(-4), key_version: 1, updated_at_ms: periodEnd })),
    ),
    rotateMasterKey: vi.fn<Backend["rotateMasterKey"]>(
      overrides.rotateMasterKey ??
        (async () => ({ to_version: 2, rewrapped: 3, encrypted_legacy: 0, remaining: 0, finished: true, pruned_versions: [] })),
    ),
    notify: vi.fn<Backend["notify"]>(overrides.notify ?? (async () => undefined)),
  };
}
