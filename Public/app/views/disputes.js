// A dispute as a panel, for its buyer (order page), its seller (dashboard) and administrators (back office): what
// was said, with photos, and what each side may do next. Every action calls the API and then `reload`.
import { api } from "../api.js";
import { h, ago, toast, statusLabel } from "../ui.js";

export const disputeReasons = [
  ["not_received", "The parcel never came"], ["not_as_described", "Not as described"], ["damaged", "Arrived damaged"], ["other", "Something else"],
];

/** Minor units from what a person types as an amount ("30", "30.5", "30,50"); NaN when it is not one. */
export function minorUnits(text) {
  const value = Number(String(text).trim().replace(",", "."));
  return Number.isFinite(value) && value > 0 ? Math.round(value * 100) : NaN;
}

/** The form a buyer opens a dispute with, for one seller order. */
export function openDisputeForm(orderId, sellerOrder, reload) {
  const form = h("form", { class: "dispute-open panel", "data-testid": "open-dispute-form", hidden: true },
    h("div", { class: "field" }, h("label", { for: `dr-${sellerOrder.id}` }, "What went wrong?"),
      h("select", { id: `dr-${sellerOrder.id}`, name: "reason" }, disputeReasons.map(([value, text]) => h("option", { value }, text)))),
    h("div", { class: "field" }, h("label", { for: `dm-${sellerOrder.id}` }, "Tell the seller"),
      h("textarea", { id: `dm-${sellerOrder.id}`, name: "message", required: true, maxlength: 2000, rows: 3 })),
    h("button", { type: "submit" }, "Open dispute"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await api(`/api/orders/${orderId}/disputes`, {
        method: "POST", body: { sellerOrderId: sellerOrder.id, reason: form.elements.reason.value, message: form.elements.message.value },
      });
      toast("Dispute opened; the seller is told.", { kind: "success" });
      reload();
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const button = h("button", { type: "button", class: "secondary", "data-testid": "open-dispute" }, "Open a dispute");
  button.addEventListener("click", () => { form.hidden = !form.hidden; if (!form.hidden) form.elements.message.focus(); });
  return h("div", {}, button, form);
}

/** One dispute: `side` is buyer, seller or admin. */
export function disputePanel(dispute, side, reload) {
  const open = dispute.status !== "resolved";
  const act = (path, body, done) => async () => {
    try {
      await api(`/api/disputes/${dispute.id}/${path}`, { method: "POST", body });
      if (done) toast(done, { kind: "success" });
      reload();
    } catch (error) { toast(error.message, { kind: "error" }); }
  };
  const reply = h("form", { class: "dispute-reply" },
    h("label", { class: "visually-hidden", for: `dreply-${dispute.id}` }, "Your message"),
    h("textarea", { id: `dreply-${dispute.id}`, name: "message", rows: 2, maxlength: 2000, required: true, placeholder: "Write a message" }),
    h("button", { type: "submit" }, "Send"));
  reply.addEventListener("submit", async (event) => {
    event.preventDefault();
    await act("messages", { message: reply.elements.message.value })();
  });
  const photo = h("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", id: `dphoto-${dispute.id}` });
  photo.addEventListener("change", async () => {
    const file = photo.files?.[0];
    if (!file) return;
    const form = new FormData();
    form.append("image", file);
    try {
      await api(`/api/disputes/${dispute.id}/photos`, { method: "POST", body: form });
      reload();
    } catch (error) { toast(error.message, { kind: "error" }); }
  });
  const actions = [];
  if (open && side === "buyer" && dispute.status !== "escalated") {
    actions.push(h("button", { type: "button", class: "secondary", "data-testid": "escalate", onclick: act("escalate", {}, "The marketplace will decide.") },
      "Ask the marketplace to decide"));
  }
  if (open && side === "seller") {
    actions.push(h("button", { type: "button", class: "secondary", "data-testid": "accept-dispute", onclick: async () => {
      if (!confirm("Refund everything left of what the buyer paid?")) return;
      await act("accept", {}, "Refunded.")();
    } }, "Accept and refund"));
  }
  return h("section", { class: "panel dispute", "data-testid": "dispute", "data-id": dispute.id },
    h("h3", {}, "Dispute: ", disputeReasons.find(([value]) => value === dispute.reason)?.[1] ?? dispute.reason, " ",
      h("span", { class: `status status-${dispute.status}`, "data-testid": "dispute-status" },
        dispute.outcome ? `${statusLabel(dispute.status)} (${dispute.outcome})` : statusLabel(dispute.status))),
    h("ol", { class: "dispute-messages" }, dispute.messages.map((message) => h("li", { class: `from-${message.author}` },
      h("strong", {}, message.author === "admin" ? "Marketplace" : message.author === "buyer" ? dispute.buyer.displayName : dispute.seller.displayName),
      " · ", ago(message.createdAt),
      message.body ? h("p", { "data-testid": "dispute-message" }, message.body) : null,
      message.photoUrl ? h("img", { src: message.photoUrl, alt: "Photo added to the dispute", class: "dispute-photo", loading: "lazy" }) : null))),
    open && side !== "admin" ? [reply, h("p", { class: "row" }, h("label", { for: `dphoto-${dispute.id}` }, "Add a photo "), photo)] : null,
    open && side === "admin" ? reply : null,
    actions.length ? h("p", { class: "row" }, actions) : null);
}
