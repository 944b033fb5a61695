// The dashboard's page script: polls the JSON API and draws it. Every value from the engine is
// written with textContent, never as HTML, so a payload cannot become markup.

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const STATUSES = ["scheduled", "queued", "running", "succeeded", "failed", "cancelled"];
const FEATURES = [
  ["delay", "Delays"],
  ["priority", "Priority"],
  ["results", "Results & status"],
  ["cancel", "Cancel"],
  ["deduplication", "Deduplication"],
  ["progress", "Progress"],
  ["deadLetter", "Dead letters"],
  ["stats", "Queue stats"],
  ["listJobs", "Job listing"],
  ["redrive", "Redrive"],
  ["discardDeadLetters", "Discard dead letters"],
  ["pause", "Pause"],
  ["headers", "Headers"],
];

let selected; // { backend, queue, tab }
let overview = { backends: [] };

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "onclick") node.addEventListener("click", value);
    else if (value !== undefined && value !== false) node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const SVG = "http://www.w3.org/2000/svg";

/** A small line of a queue's waiting jobs over the last minutes. */
function sparkline(history) {
  const width = 120;
  const height = 24;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "spark");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `waiting jobs, last ${history.length} samples`);
  if (history.length < 2) return svg;
  const max = Math.max(1, ...history.map((s) => s.queued + s.running));
  const points = history.map(
    (s, i) =>
      `${((i / (history.length - 1)) * width).toFixed(1)},${(height - 1 - ((s.queued + s.running) / max) * (height - 2)).toFixed(1)}`,
  );
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", points.join(" "));
  svg.append(line);
  return svg;
}

function age(ms) {
  if (ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3600000) return `${Math.floor(ms / 60000)} m ${Math.floor((ms % 60000) / 1000)} s`;
  return `${Math.floor(ms / 3600000)} h ${Math.floor((ms % 3600000) / 60000)} m`;
}

function countCell(status, count) {
  if (count === undefined)
    return el("td", { class: "count absent", "data-status": status, title: "this engine does not keep such jobs" }, "–");
  return el("td", { class: count === 0 ? "count zero" : `count ${status}`, "data-status": status }, count);
}

/** How long ago a timestamp was, for a job's row. */
function ago(t) {
  if (t === undefined) return "";
  return `${age(Math.max(0, Date.now() - t))} ago`;
}

function drawOverview() {
  const main = document.getElementById("backends");
  main.replaceChildren(
    ...overview.backends.map((backend) => {
      const caps = backend.capabilities ?? {};
      // No capabilities: the adapter could not even be created (an unknown scheme, a missing package).
      const features = !backend.capabilities
        ? null
        : el(
            "ul",
            { class: "features" },
            FEATURES.map(([key, label]) => {
              const has = Boolean(caps[key]);
              return el(
                "li",
                { class: has ? "yes" : "no", title: has ? "supported" : "not supported by this engine" },
                has ? "✓ " : "– ",
                label,
              );
            }),
          );
      let body;
      if (backend.error) body = el("p", { class: "error" }, backend.error);
      else if (!caps.stats)
        body = el("p", { class: "muted" }, "This engine has no queue statistics: add a job store, or use its own console.");
      else if (backend.queues.length === 0) body = el("p", { class: "muted" }, "No queues yet.");
      else {
        body = el(
          "table",
          { class: "queues" },
          el(
            "thead",
            {},
            el("tr", {}, [
              el("th", {}, "Queue"),
              STATUSES.map((s) => el("th", { class: "count" }, s[0].toUpperCase() + s.slice(1))),
              el("th", { class: "count" }, "Oldest wait"),
              el("th", { title: "queued + running, one sample per refresh" }, "Last minutes"),
            ]),
          ),
          el(
            "tbody",
            {},
            backend.queues.map((queue) =>
              el(
                "tr",
                {
                  "data-queue": queue.queue,
                  class: selected?.backend === backend.name && selected?.queue === queue.queue ? "selected" : undefined,
                  onclick: () => select(backend.name, queue.queue, caps.deadLetter && (queue.counts.failed ?? 0) > 0 ? "dead" : "jobs"),
                },
                el("td", { class: "name" }, queue.queue, queue.paused ? el("span", { class: "badge" }, "paused") : null),
                STATUSES.map((s) => countCell(s, queue.counts[s])),
                el("td", { class: "count lag" }, age(queue.oldestQueuedAgeMs)),
                el("td", {}, sparkline(queue.history ?? [])),
              ),
            ),
          ),
        );
      }
      return el(
        "section",
        { class: "backend", "data-backend": backend.name },
        el("h2", {}, backend.name, " ", el("small", {}, backend.description ?? "")),
        features,
        body,
      );
    }),
  );
  document.getElementById("updated").textContent = `updated ${new Date().toLocaleTimeString()}`;
}

async function api(path, init) {
  const response = await fetch(path, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body;
}

async function refresh() {
  try {
    overview = await api("./api/overview");
    drawOverview();
    // Redrawing would close a dropdown the operator has open.
    if (selected && document.activeElement?.tagName !== "SELECT") await drawDetail();
  } catch (error) {
    document.getElementById("updated").textContent = `refresh failed: ${error.message}`;
  }
}

function select(backend, queue, tab) {
  const first = selected?.backend !== backend || selected?.queue !== queue;
  selected = { backend, queue, tab, status: first ? undefined : selected.status };
  drawOverview();
  drawDetail().then(() => {
    if (first) document.getElementById("detail").scrollIntoView({ block: "nearest" });
  });
}

function queueOf(backend, queue) {
  return overview.backends.find((b) => b.name === backend)?.queues.find((q) => q.queue === queue);
}

/** Pause or resume, where the engine can; otherwise say that it cannot. */
function pauseControl(backend, queue, caps) {
  if (!caps.pause) return el("span", { class: "muted unsupported" }, "Pausing: not supported by this engine");
  const paused = Boolean(queueOf(backend, queue)?.paused);
  return el(
    "button",
    { class: paused ? "resume" : "pause", onclick: () => act(paused ? "resume" : "pause", { backend, queue }) },
    paused ? "Resume queue" : "Pause queue",
  );
}

function capabilitiesOf(name) {
  return overview.backends.find((b) => b.name === name)?.capabilities ?? {};
}

async function drawDetail() {
  const section = document.getElementById("detail");
  const { backend, queue, tab } = selected;
  const caps = capabilitiesOf(backend);
  section.hidden = false;
  document
    .getElementById("detail-title")
    .replaceChildren(`${backend} · ${queue}`, queueOf(backend, queue)?.paused ? el("span", { class: "badge" }, "paused") : "");
  const tabs = [
    ["jobs", "Recent jobs", caps.listJobs],
    ["dead", "Dead letters", caps.deadLetter],
  ];
  document.getElementById("tabs").replaceChildren(
    ...tabs.map(([key, label, has]) =>
      el(
        "button",
        {
          class: key === tab ? "tab active" : "tab",
          disabled: !has,
          title: has ? undefined : "not supported by this engine",
          onclick: () => select(backend, queue, key),
        },
        label,
      ),
    ),
    el("span", { class: "spacer" }),
    pauseControl(backend, queue, caps),
  );
  const body = document.getElementById("detail-body");
  const params = new URLSearchParams({ backend, queue });
  try {
    if (tab === "jobs") {
      if (!caps.listJobs) return body.replaceChildren(el("p", { class: "muted" }, "This engine cannot list jobs."));
      if (selected.status) params.set("status", selected.status);
      const page = await api(`./api/jobs?${params}`);
      body.replaceChildren(el("div", { class: "actions" }, statusFilter()), jobTable(page.jobs, false));
    } else {
      if (!caps.deadLetter) return body.replaceChildren(el("p", { class: "muted" }, "This engine keeps no dead letters."));
      const { jobs } = await api(`./api/dead-letters?${params}`);
      const all = el(
        "button",
        { class: "redrive-all", disabled: !caps.redrive || jobs.length === 0, onclick: () => act("redrive", { backend, queue }) },
        "Redrive all",
      );
      // Discarding is shown only where the engine can: a missing feature is absent, never an error.
      const discardAll = caps.discardDeadLetters
        ? el(
            "button",
            {
              class: "discard-all",
              disabled: jobs.length === 0,
              onclick: () => discard({ backend, queue }, "every dead letter of this queue"),
            },
            "Discard all",
          )
        : null;
      body.replaceChildren(el("div", { class: "actions" }, all, discardAll), jobTable(jobs, true));
    }
  } catch (error) {
    body.replaceChildren(el("p", { class: "error" }, error.message));
  }
}

/** Which status the recent jobs are filtered to; kept across refreshes. */
function statusFilter() {
  const select = el(
    "select",
    { "aria-label": "status" },
    el("option", { value: "" }, "all statuses"),
    STATUSES.map((s) => el("option", { value: s, selected: selected.status === s }, s)),
  );
  select.addEventListener("change", () => {
    selected.status = select.value || undefined;
    drawDetail();
  });
  return select;
}

function jobTable(jobs, dead) {
  if (jobs.length === 0) return el("p", { class: "muted" }, dead ? "No dead letters." : "No jobs.");
  const caps = capabilitiesOf(selected.backend);
  return el(
    "table",
    { class: "jobs" },
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        ["Job", "Task", "Status", "Attempts", "When", "Payload", "Result / error", ""].map((t) => el("th", {}, t)),
      ),
    ),
    el(
      "tbody",
      {},
      jobs.map((job) =>
        el(
          "tr",
          { "data-job": job.id },
          el("td", { class: "id" }, job.id),
          el("td", {}, job.name),
          el("td", { class: `status ${job.status}` }, job.status),
          el("td", {}, `${job.attempt}/${job.maxAttempts}`),
          el(
            "td",
            { class: "when", title: job.finishedAt ? "finished" : job.runAt > Date.now() ? "runs" : "enqueued" },
            job.finishedAt ? ago(job.finishedAt) : job.runAt > Date.now() ? `in ${age(job.runAt - Date.now())}` : ago(job.enqueuedAt),
          ),
          el("td", {}, el("pre", { class: "payload" }, JSON.stringify(job.payload))),
          el(
            "td",
            {},
            el(
              "pre",
              {},
              job.error ? `${job.error.name}: ${job.error.message}` : job.result === undefined ? "" : JSON.stringify(job.result),
            ),
          ),
          el(
            "td",
            { class: "row-actions" },
            dead && caps.redrive
              ? el(
                  "button",
                  { class: "redrive", onclick: () => act("redrive", { backend: selected.backend, queue: selected.queue, ids: [job.id] }) },
                  "Redrive",
                )
              : null,
            dead && caps.discardDeadLetters
              ? el(
                  "button",
                  {
                    class: "discard",
                    onclick: () => discard({ backend: selected.backend, queue: selected.queue, ids: [job.id] }, `job ${job.id}`),
                  },
                  "Discard",
                )
              : null,
            caps.cancel && !["succeeded", "failed", "cancelled"].includes(job.status)
              ? el(
                  "button",
                  { class: "cancel", onclick: () => act("cancel", { backend: selected.backend, queue: selected.queue, id: job.id }) },
                  "Cancel",
                )
              : null,
          ),
        ),
      ),
    ),
  );
}

/** Discarding cannot be undone: the operator confirms it first. */
function discard(body, what) {
  if (confirm(`Discard ${what} for good? It will never run, and its record is removed.`)) return act("discard", body);
}

async function act(action, body) {
  try {
    await api(`./api/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-taskport-csrf": csrf },
      body: JSON.stringify(body),
    });
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

refresh();
setInterval(refresh, 2000);
