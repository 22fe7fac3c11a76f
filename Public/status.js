// Renders GET /health/ready: one line per dependency with its state and latency.
const list = document.getElementById("checks");

async function refresh() {
  try {
    const response = await fetch("/health/ready", { cache: "no-store" });
    const body = await response.json();
    list.replaceChildren(...Object.entries(body.checks).map(([name, check]) => {
      const item = document.createElement("li");
      item.className = check.status;
      item.textContent = check.status === "up" ? `${name}: up (${check.latencyMs} ms)` : `${name}: down`;
      return item;
    }));
  } catch {
    const item = document.createElement("li");
    item.className = "down";
    item.textContent = "server unreachable";
    list.replaceChildren(item);
  }
}

refresh();
setInterval(refresh, 5000);
