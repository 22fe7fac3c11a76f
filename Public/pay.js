// The simulated provider's hosted page: shows the session, then reports "paid" or "failed". The server signs that
// report as a webhook event and handles it exactly as it handles a real provider's delivery.
import { money } from "./app/ui.js";

const session = new URLSearchParams(location.search).get("session") ?? "";
const $ = (id) => document.getElementById(id);

async function load() {
  const response = await fetch(`/api/payments/simulated/${encodeURIComponent(session)}`);
  const body = await response.json();
  if (!response.ok) {
    $("session").textContent = body.message ?? "This payment session cannot be found.";
    return;
  }
  $("session").textContent = `Order ${body.orderId.slice(0, 8)} — ${body.status}`;
  const rows = $("lines").querySelector("tbody");
  for (const line of body.lines) {
    const row = rows.insertRow();
    row.insertCell().textContent = line.name;
    row.insertCell().textContent = String(line.quantity);
    row.insertCell().textContent = money(line.unitAmount * line.quantity, body.amount.currency);
  }
  $("total").textContent = money(body.amount.amount, body.amount.currency);
  $("lines").hidden = false;
  if (body.status === "open") $("actions").hidden = false;
  else $("result").textContent = `This session is ${body.status}.`;
}

async function complete(outcome) {
  for (const button of document.querySelectorAll("button")) button.disabled = true;
  const response = await fetch(`/api/payments/simulated/${encodeURIComponent(session)}/complete`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ outcome }),
  });
  const body = await response.json();
  if (!response.ok) {
    $("result").textContent = body.message ?? "The payment could not be completed.";
    return;
  }
  $("result").textContent = `Payment ${outcome}; the order is ${body.orderStatus.replace("_", " ")}.`;
  setTimeout(() => location.assign(body.returnURL), 1200);
}

$("pay").addEventListener("click", () => complete("paid"));
$("fail").addEventListener("click", () => complete("failed"));
load().catch(() => { $("session").textContent = "The payment service cannot be reached; try again."; });
