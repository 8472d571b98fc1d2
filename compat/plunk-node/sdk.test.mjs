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
