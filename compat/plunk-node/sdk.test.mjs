// The official @plunk/node SDK against a running Beacon: only `baseUrl` differs from Plunk.
// run.sh starts Beacon and sets BEACON_URL and BEACON_SECRET_KEY / BEACON_PUBLIC_KEY.
import { test } from "node:test";
import assert from "node:assert/strict";
import PlunkModule from "@plunk/node";

const Plunk = PlunkModule.default ?? PlunkModule;
const baseUrl = `${process.env.BEACON_URL}/v1/`;
const plunk = new Plunk(process.env.BEACON_SECRET_KEY, { baseUrl });

test("emails.send queues an email and answers like Plunk", async () => {
  const res = await plunk.emails.send({
    to: "sdk@example.com",
    subject: "From the Plunk SDK",
    body: "<p>Hello from <a href=\"https://example.com/docs\">the SDK</a></p>",
  });
  assert.equal(res.success, true);
  assert.equal(res.data.emails.length, 1);
  assert.equal(res.data.emails[0].contact.email, "sdk@example.com");
  assert.match(res.data.emails[0].email, /^[0-9a-f-]{36}$/);
});

test("emails.send with markdown, a sender name and several recipients", async () => {
  const res = await plunk.emails.send({
    to: ["a@example.com", "b@example.com"],
    subject: "Markdown",
    body: "# Hi",
    type: "markdown",
    name: "SDK Sender",
    subscribed: true,
  });
  assert.equal(res.data.emails.length, 2);
});

test("events.track records an event, also with the public key", async () => {
  const res = await plunk.events.track({ event: "sdk-signup", email: "sdk@example.com", data: { plan: "pro" } });
  assert.equal(res.success, true);
  assert.ok(res.data.contact);
  assert.ok(res.data.event);
  const pub = new Plunk(process.env.BEACON_PUBLIC_KEY, { baseUrl });
  const res2 = await pub.events.track({ event: "sdk-visit", email: "sdk@example.com", data: { page: { value: "/", persistent: false } } });
  assert.equal(res2.success, true);
});

test("errors surface as the SDK's own errors with Beacon's message", async () => {
  const bad = new Plunk("sk_not_a_key", { baseUrl });
  await assert.rejects(bad.emails.send({ to: "x@example.com", subject: "s", body: "b" }), /unknown API key/);
  await assert.rejects(plunk.emails.send({ to: "not-an-address", subject: "s", body: "b" }), /not a valid email address/);
});

// Plunk's other public routes have no SDK method: they are called directly, as Plunk's API
// documentation shows, and answer in Plunk's shape (the object's fields beside `success`).
const call = async (method, path, body, key = process.env.BEACON_SECRET_KEY) => {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
};

test("PUT /v1/contacts, subscribe, unsubscribe, count and DELETE /v1/contacts", async () => {
  const created = await call("POST", "contacts", { email: "direct@example.com", data: { plan: "free" } });
  const id = created.body.data.id;
  let r = await call("PUT", "contacts", { email: "direct@example.com", subscribed: true, data: { plan: "pro" } });
  assert.equal(r.status, 200);
  assert.equal(r.body.success, true);
  assert.equal(r.body.id, id);
  assert.equal(r.body.subscribed, true);
  assert.equal(r.body.data.plan, "pro");

  r = await call("POST", "contacts/unsubscribe", { email: "direct@example.com" }, process.env.BEACON_PUBLIC_KEY);
  assert.deepEqual(r.body, { success: true, contact: id, subscribed: false });
  r = await call("POST", "contacts/subscribe", { id });
  assert.deepEqual(r.body, { success: true, contact: id, subscribed: true });

  r = await call("GET", "contacts/count", undefined, process.env.BEACON_PUBLIC_KEY);
  assert.equal(r.status, 200);
  assert.ok(r.body.count >= 1);

  r = await call("DELETE", "contacts", { id });
  assert.equal(r.status, 200);
  assert.equal(r.body.email, "direct@example.com");
  r = await call("DELETE", "contacts", { id });
  assert.equal(r.status, 404);
  assert.equal(r.body.success, false);
});

test("PUT /v1/campaigns, POST /v1/campaigns/send and DELETE /v1/campaigns", async () => {
  const draft = async () =>
    (await call("POST", "campaigns", {
      name: "Direct", subject: "Hello", body: "<p>Hi</p>", from: "news@example.com", audience: { all: true },
    })).body.data.id;
  const id = await draft();
  let r = await call("PUT", "campaigns", { id, subject: "Updated", body: "<p>New</p>", recipients: ["all"] });
  assert.equal(r.status, 200);
  assert.equal(r.body.success, true);
  assert.equal(r.body.subject, "Updated");

  r = await call("POST", "campaigns/send", { id, live: true, delay: 5 });
  assert.equal(r.status, 200);
  assert.equal(r.body.data.status, "SCHEDULED");

  r = await call("DELETE", "campaigns", { id });
  assert.equal(r.status, 200);
  assert.equal(r.body.id, id);
  r = await call("DELETE", "campaigns", { id });
  assert.equal(r.status, 404);
});
