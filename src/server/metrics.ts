// A minimal Prometheus registry: counters, histograms, and gauges read at scrape time.
import type { ReplicaStatus } from "../spec/index.js";

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}="${labels[name].replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`)
    .join(",");
}

const braces = (key: string) => (key ? `{${key}}` : "");

function formatValue(value: number): string {
  if (value === Infinity) return "+Inf";
  return Number.isInteger(value) ? String(value) : value.toPrecision(6).replace(/\.?0+$/, "");
}

class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels, amount = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + amount);
  }
  get(labels: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${braces(key)} ${formatValue(value)}`);
    return lines.join("\n");
  }
}

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {}
  observe(labels: Labels, value: number): void {
    if (!Number.isFinite(value)) return;
    const key = labelKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    this.buckets.forEach((bound, index) => {
      if (value <= bound) entry.counts[index]++;
    });
    entry.sum += value;
    entry.count++;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, entry] of this.series) {
      const prefix = key ? `${key},` : "";
      this.buckets.forEach((bound, index) => lines.push(`${this.name}_bucket{${prefix}le="${formatValue(bound)}"} ${entry.counts[index]}`));
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${entry.count}`);
      lines.push(`${this.name}_sum${braces(key)} ${formatValue(entry.sum)}`);
      lines.push(`${this.name}_count${braces(key)} ${entry.count}`);
    }
    return lines.join("\n");
  }
}

export interface GaugeSample {
  labels: Labels;
  value: number;
}

/** What scrape time reads from the models: queues, sequences and each replicated model's upstreams. */
export interface ScrapedState {
  queueDepth: GaugeSample[];
  activeSequences: GaugeSample[];
  capacity: GaugeSample[];
  replicas?: { model: string; replicas: ReplicaStatus[] }[];
}

/** A metric whose values are read at scrape time (counters kept by their owner, gauges). */
function renderSampled(name: string, type: "counter" | "gauge", help: string, samples: GaugeSample[]): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples.map((s) => `${name}${braces(labelKey(s.labels))} ${formatValue(s.value)}`)].join("\n");
}

/** Per-replica series of every replicated model, labelled {model, replica}. */
function renderReplicas(sets: { model: string; replicas: ReplicaStatus[] }[]): string[] {
  const rows = sets.flatMap(({ model, replicas }) => replicas.map((replica) => ({ labels: { model, replica: replica.name }, replica })));
  const samples = (value: (replica: ReplicaStatus) => number) => rows.map((row) => ({ labels: row.labels, value: value(row.replica) }));
  const latencyName = "camelid_replica_request_duration_seconds";
  return [
    renderSampled("camelid_replica_requests_total", "counter", "Requests sent to each replica of a replicated model (a failed-over request counts on each replica tried).", samples((r) => r.requests)),
    renderSampled("camelid_replica_failures_total", "counter", "Requests a replica failed (connection, 5xx, timeout, broken stream); it is then unhealthy until its next good health check.", samples((r) => r.failures)),
    renderSampled("camelid_replica_failovers_total", "counter", "Requests moved from a replica to another after it failed them before any output.", samples((r) => r.failovers)),
    renderSampled("camelid_replica_in_flight", "gauge", "Requests a replica is serving now (the router picks the fewest).", samples((r) => r.inFlight)),
    renderSampled("camelid_replica_healthy", "gauge", "1 when the replica passed its last health check and has not failed a request since, else 0.", samples((r) => (r.healthy ? 1 : 0))),
    [
      `# HELP ${latencyName} Time each replica took per request, from routing to its end.`,
      `# TYPE ${latencyName} summary`,
      ...rows.flatMap((row) => [
        `${latencyName}_sum${braces(labelKey(row.labels))} ${formatValue(row.replica.latencySecondsSum)}`,
        `${latencyName}_count${braces(labelKey(row.labels))} ${formatValue(row.replica.latencyCount)}`,
      ]),
    ].join("\n"),
  ];
}

/** What the server counts; gauges (queue depth, busy sequences) come from a callback at scrape time. */
export class ServerMetrics {
  readonly requests = new Counter("camelid_requests_total", "HTTP requests by model, endpoint and status code.");
  readonly promptTokens = new Counter("camelid_prompt_tokens_total", "Prompt tokens evaluated.");
  readonly completionTokens = new Counter("camelid_completion_tokens_total", "Tokens generated.");
  readonly rejected = new Counter("camelid_queue_rejections_total", "Requests refused because the model's queue was full.");
  readonly logFailures = new Counter("camelid_request_log_failures_total", "Request-log writes that failed (the request itself was still served).");
  readonly errors = new Counter("camelid_http_errors_total", "Error responses by status code (validation, auth, unknown model, queue full, upstream).");
  readonly timeToFirstToken = new Histogram(
    "camelid_time_to_first_token_seconds",
    "From request arrival to the first generated token.",
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  );
  readonly tokensPerSecond = new Histogram(
    "camelid_tokens_per_second",
    "Decode speed of each completed request (tokens after the first per second).",
    [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000],
  );
  readonly requestDuration = new Histogram(
    "camelid_request_duration_seconds",
    "Total time of generation requests.",
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  );

  constructor(private readonly gauges: () => ScrapedState = () => ({
    queueDepth: [],
    activeSequences: [],
    capacity: [],
  })) {}

  render(): string {
    const gauges = this.gauges();
    const gauge = (name: string, help: string, samples: GaugeSample[]) => renderSampled(name, "gauge", help, samples);
    return (
      [
        this.requests.render(),
        this.promptTokens.render(),
        this.completionTokens.render(),
        this.rejected.render(),
        this.errors.render(),
        this.logFailures.render(),
        this.timeToFirstToken.render(),
        this.tokensPerSecond.render(),
        this.requestDuration.render(),
        gauge("camelid_queue_depth", "Requests waiting for a sequence.", gauges.queueDepth),
        gauge("camelid_active_sequences", "Sequences decoding right now.", gauges.activeSequences),
        gauge("camelid_sequence_capacity", "Sequences a model decodes together.", gauges.capacity),
        ...(gauges.replicas?.length ? renderReplicas(gauges.replicas) : []),
      ].join("\n") + "\n"
    );
  }
}
