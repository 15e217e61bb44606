// The citizen pages in a real browser (Debian's chromium via playwright-core): the whole
// journey with JavaScript on and off, a sold-out slot, a validation error, axe-core on every
// page in both languages, and screenshots at 360 px and 1280 px in test-artifacts/.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";

import { axePath, launchBrowser, screenshotDir, startServer } from "./server.mjs";

const TEXT = {
  ms: { booked: "Disahkan", cancelled: "Dibatalkan", soldOut: "Slot ini sudah penuh", english: "English" },
  en: { booked: "Confirmed", cancelled: "Cancelled", soldOut: "This slot is fully booked" },
};

let serial = 0;
/** A valid MyKad number, different for every call. */
function mykad() {
  serial += 1;
  const n = (process.pid % 5000) * 10 + serial;
  return `900127${String(10 + Math.floor(n / 10000)).padStart(2, "0")}${String(n % 10000).padStart(4, "0")}`;
}

/** A server and a browser for one test, both stopped at the end whatever happens. */
async function withSetup(fn) {
  const server = await startServer();
  let browser;
  try {
    browser = await launchBrowser();
    await fn(server, browser);
  } finally {
    if (browser) await browser.close();
    await server.stop();
  }
}

async function newPage(browser, options = {}) {
  // Malay in Accept-Language, as most people here send; English comes from the switcher.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "ms-MY", ...options });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(15_000);
  const problems = [];
  page.on("console", (message) => {
    // A refused form (409/422) is an answer, not a problem; anything else is.
    const expected = /Failed to load resource: the server responded with a status of (409|422)/;
    if (message.type() === "error" && !expected.test(message.text())) problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { context, page, problems };
}

async function heading(page, text) {
  await page.locator("h1", { hasText: text }).waitFor();
}

/**
 * Focus ends up on the element `isFocused` names. app.js moves it once htmx has settled a swap,
 * a moment after the new content appears, so this waits (briefly) rather than looking once.
 */
async function focusLandsOn(page, isFocused, what) {
  try {
    await page.waitForFunction(isFocused, undefined, { timeout: 2_000 });
  } catch {
    const focused = await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80));
    assert.fail(`focus is not on ${what} but on ${focused}`);
  }
}

async function fillBooking(page, id, overrides = {}) {
  const values = {
    id_number: id,
    name: "Siti Nur Aisyah",
    phone: "012-345 6789",
    address: "Jalan Test 1, Shah Alam",
    postcode: "40200",
    ...overrides,
  };
  for (const [field, value] of Object.entries(values)) {
    await page.locator(`#${field}`).fill(value);
  }
}

async function submit(page) {
  await page.locator("main button[type=submit]").click();
}

/** home → state → centre → book → confirmation → check → cancel. */
async function journey(server, browser, { js, lang }) {
  const { context, page, problems } = await newPage(browser, { javaScriptEnabled: js });
  const id = mykad();
  await page.goto(`${server.base}/`);
  if (lang === "en") {
    // The switcher is a plain link: it works without JavaScript too.
    await page.locator("header a[hreflang=en]").click();
    await page.locator("html[lang=en]").waitFor();
  }
  if (js) {
    await page.waitForFunction(() => window.htmx !== undefined);
    await page.evaluate(() => {
      window.sameDocument = true;
    });
  }
  await page.locator("a.choice", { hasText: "Selangor" }).click();
  await heading(page, "Selangor");
  assert.match(page.url(), /\/states\/selangor$/);
  await page.locator(".card a", { hasText: "IDCC Shah Alam" }).click();
  await heading(page, "IDCC Shah Alam");
  assert.match(page.url(), /\/centres\/IDCC$/);
  await page.locator("a.slot").first().click();
  await page.locator("form[action='/book']").waitFor();
  assert.match(page.url(), /\/book\?centre=IDCC/);
  await fillBooking(page, id);
  await submit(page);

  const reference = page.locator(".reference");
  await reference.waitFor();
  assert.match(page.url(), /\/booked$/);
  const ref = (await reference.textContent()).trim();
  assert.match(ref, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/);
  assert.equal(await page.locator("figure.qr svg").count(), 1, "a QR code");
  if (js) {
    await focusLandsOn(page, () => document.activeElement?.className === "reference", "the result");
  }

  // Find my booking: identity number and phone number, no reference needed.
  await page.locator("header a[href='/check']").click();
  await page.locator("form[action='/check']").waitFor();
  await page.locator("main a[href='/find']").click();
  await page.locator("form[action='/find']").waitFor();
  await page.locator("#id_number").fill(id);
  await page.locator("#phone").fill("+60 12-345 6789");
  await submit(page);
  await page.locator("dl.details", { hasText: ref }).waitFor();
  assert.match(page.url(), /\/my-booking$/);

  await page.locator("header a[href='/check']").click();
  await page.locator("form[action='/check']").waitFor();
  await page.locator("#reference").fill(ref.toLowerCase());
  await page.locator("#id_number").fill(id);
  await submit(page);
  await page.locator("dl.details", { hasText: ref }).waitFor();
  assert.match(page.url(), /\/my-booking$/);
  assert.ok((await page.locator("dl.details").textContent()).includes(TEXT[lang].booked));

  await page.locator("a[href='/my-booking/cancel']").click();
  await page.locator("form[action='/my-booking/cancel']").waitFor();
  await submit(page);
  await page.locator("dl.details", { hasText: TEXT[lang].cancelled }).waitFor();
  assert.match(page.url(), /\/my-booking$/);
  assert.equal(await page.locator("a[href='/my-booking/cancel']").count(), 0);

  if (js) {
    assert.equal(await page.evaluate(() => window.sameDocument), true, "htmx swapped pages in place");
  }
  assert.deepEqual(problems, [], "no console errors (CSP violations included)");
  await context.close();
}

test("the whole journey works with JavaScript on (Bahasa Melayu)", { timeout: 120_000 }, async () => {
  await withSetup((server, browser) => journey(server, browser, { js: true, lang: "ms" }));
});

test("the whole journey works with JavaScript off (English)", { timeout: 120_000 }, async () => {
  await withSetup((server, browser) => journey(server, browser, { js: false, lang: "en" }));
});

test("with htmx, back and forward and bookmarks show the right page", { timeout: 120_000 }, async () => {
  await withSetup(async (server, browser) => {
    const { context, page, problems } = await newPage(browser);
    await page.goto(`${server.base}/`);
    await page.waitForFunction(() => window.htmx !== undefined);
    await page.locator("a.choice", { hasText: "Selangor" }).click();
    await heading(page, "Selangor");
    await page.locator(".card a", { hasText: "IDCC Shah Alam" }).click();
    await heading(page, "IDCC Shah Alam");
    assert.equal(await page.title(), "IDCC Shah Alam · Janji Temu Vaksin", "the title follows the swap");
    await page.goBack();
    await heading(page, "Selangor");
    assert.match(page.url(), /\/states\/selangor$/);
    await page.goForward();
    await heading(page, "IDCC Shah Alam");
    // The pushed address is a real page: opening it afresh shows the same.
    const bookmark = page.url();
    const fresh = await context.newPage();
    await fresh.goto(bookmark);
    await heading(fresh, "IDCC Shah Alam");
    assert.deepEqual(problems, []);
    await context.close();
  });
});

test("with htmx, the language switcher still loads the whole page in the other language", { timeout: 120_000 }, async () => {
  await withSetup(async (server, browser) => {
    const { context, page, problems } = await newPage(browser);
    await page.goto(`${server.base}/centres/IDCC`);
    await page.waitForFunction(() => window.htmx !== undefined);
    await page.evaluate(() => {
      window.sameDocument = true;
    });
    // The switcher opts out of boosting (data-hx-boost="false"): a swap would keep the old
    // document's <html lang>, which is what screen readers read the page in.
    await page.locator("header a[hreflang=en]").click();
    await page.locator("html[lang=en]").waitFor();
    await heading(page, "IDCC Shah Alam");
    assert.match(page.url(), /\/centres\/IDCC$/);
    assert.equal(await page.evaluate(() => window.sameDocument), undefined, "a new document, not a swap");
    assert.deepEqual(problems, []);
    await context.close();
  });
});

test("a slot that sells out while the form is open gets the sold-out page", { timeout: 120_000 }, async () => {
  await withSetup(async (server, browser) => {
    for (const js of [true, false]) {
      const late = await newPage(browser, { javaScriptEnabled: js });
      await late.page.goto(`${server.base}/centres/ONE`);
      const slot = late.page.locator("a.slot").first();
      if ((await slot.count()) === 0) {
        // The first round took the only place: the centre page shows it full, with no link.
        assert.equal(await late.page.locator(".slot-full").count(), 1);
        await late.page.goto(`${server.base}/book?centre=ONE&date=${await firstDate(server)}&window=0900-1000`);
        await heading(late.page, TEXT.ms.soldOut);
        await late.context.close();
        continue;
      }
      await slot.click();
      await late.page.locator("form[action='/book']").waitFor();
      await fillBooking(late.page, mykad());

      const first = await newPage(browser, { javaScriptEnabled: js });
      await first.page.goto(`${server.base}/centres/ONE`);
      await first.page.locator("a.slot").first().click();
      await fillBooking(first.page, mykad());
      await submit(first.page);
      await first.page.locator(".reference").waitFor();
      await new Promise((r) => setTimeout(r, 100)); // past the availability snapshot's age

      await submit(late.page);
      await heading(late.page, TEXT.ms.soldOut);
      await late.page.locator("main a[href='/centres/ONE']").click();
      await late.page.locator(".slot-full").waitFor();
      assert.equal(await late.page.locator("a.slot").count(), 0);
      await first.context.close();
      await late.context.close();
    }
  });
});

async function firstDate(server) {
  const html = await (await fetch(`${server.base}/centres/ONE`)).text();
  return html.match(/id="day-(\d{4}-\d{2}-\d{2})"/)[1];
}

test("a validation error keeps the values, marks the fields and takes focus", { timeout: 120_000 }, async () => {
  await withSetup(async (server, browser) => {
    for (const js of [true, false]) {
      const { context, page, problems } = await newPage(browser, { javaScriptEnabled: js });
      await page.goto(`${server.base}/centres/IDCC`);
      await page.locator("a.slot").first().click();
      await page.locator("form[action='/book']").waitFor();
      await fillBooking(page, "12345", { name: "", phone: "0321234567" });
      await submit(page);
      const summary = page.locator(".error-summary");
      await summary.waitFor();
      assert.equal(await summary.locator("a").count(), 3, "id, name and phone");
      assert.equal(await page.locator("#phone").getAttribute("aria-invalid"), "true");
      assert.match(await page.locator("#phone").getAttribute("aria-describedby"), /phone-error/);
      assert.equal(await page.locator("#phone").inputValue(), "0321234567");
      assert.equal(await page.locator("#address").inputValue(), "Jalan Test 1, Shah Alam");
      assert.equal(await page.locator("#address").getAttribute("aria-invalid"), null);
      await focusLandsOn(page, () => document.activeElement?.classList.contains("error-summary"), "the error summary");
      if (js) {
        // Inline validation: leaving a field checks it.
        await page.locator("#postcode").fill("123");
        await page.locator("#postcode").blur();
        await page.locator("#postcode-error").waitFor();
      }
      // Correcting the fields books.
      await fillBooking(page, mykad());
      await submit(page);
      await page.locator(".reference").waitFor();
      assert.deepEqual(problems, []);
      await context.close();
    }
  });
});

/** Every page, in both languages, with and without an error shown: zero axe violations. */
test("axe-core finds no violations on any page, nothing scrolls sideways at 320 px, and screenshots are saved", { timeout: 240_000 }, async () => {
  await withSetup(async (server, browser) => {
    const axe = axePath();
    const shots = screenshotDir();
    const failures = [];
    for (const lang of ["ms", "en"]) {
      const { context, page } = await newPage(browser, { bypassCSP: true });
      await context.addCookies([{ name: "lang", value: lang, url: server.base }]);
      const check = async (name) => {
        await page.waitForLoadState("load");
        await page.addScriptTag({ path: axe });
        const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
        for (const v of result.violations) {
          failures.push(`${lang} ${name} (${page.url()}): ${v.id} — ${v.help}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
        }
        // Reflow (WCAG 1.4.10): at 320 CSS px — also what 200 % zoom of a 640 px window gives —
        // nothing may need horizontal scrolling.
        await page.setViewportSize({ width: 320, height: 900 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        if (overflow > 0) failures.push(`${lang} ${name} (${page.url()}): ${overflow} px of horizontal scrolling at 320 px`);
        for (const width of [360, 1280]) {
          await page.setViewportSize({ width, height: 900 });
          await page.screenshot({ path: path.join(shots, `${lang}-${name}-${width}.png`), fullPage: true });
        }
        await page.setViewportSize({ width: 1280, height: 900 });
      };
      const id = mykad();
      await page.goto(`${server.base}/`);
      await check("home");
      await page.goto(`${server.base}/states/selangor`);
      await check("state");
      await page.goto(`${server.base}/centres/IDCC`);
      await check("centre");
      await page.locator("a.slot").first().click();
      await page.locator("form[action='/book']").waitFor();
      await check("book");
      await fillBooking(page, "12345", { name: "", phone: "0321234567" });
      await submit(page);
      await page.locator(".error-summary").waitFor();
      await check("book-errors");
      await fillBooking(page, id);
      await submit(page);
      await page.locator(".reference").waitFor();
      await check("confirmation");
      const ref = (await page.locator(".reference").textContent()).trim();
      await page.goto(`${server.base}/my-booking`);
      await check("my-booking");
      await page.goto(`${server.base}/my-booking/cancel`);
      await check("cancel");
      await submit(page);
      await page.locator("form[action='/my-booking/cancel']").waitFor({ state: "detached" });
      await page.locator("dl.details", { hasText: TEXT[lang].cancelled }).waitFor();
      await check("cancelled");
      await page.goto(`${server.base}/check`);
      await check("check");
      await page.locator("#reference").fill(ref);
      await page.locator("#id_number").fill(mykad());
      await submit(page);
      await page.locator(".error-summary").waitFor();
      await check("check-no-match");
      await page.goto(`${server.base}/check`);
      await submit(page);
      await page.locator(".error-summary").waitFor();
      await check("check-errors");
      await page.goto(`${server.base}/find`);
      await check("find");
      await submit(page);
      await page.locator(".error-summary").waitFor();
      await check("find-errors");
      await page.goto(`${server.base}/nowhere`);
      await check("not-found");
      // Sold out: take ONE's only place (once), then ask for it again.
      if (lang === "ms") {
        await page.goto(`${server.base}/centres/ONE`);
        await page.locator("a.slot").first().click();
        await fillBooking(page, mykad());
        await submit(page);
        await page.locator(".reference").waitFor();
        await new Promise((r) => setTimeout(r, 100)); // past the availability snapshot's age
      }
      await page.goto(`${server.base}/book?centre=ONE&date=${await firstDate(server)}&window=0900-1000`);
      await heading(page, TEXT[lang].soldOut);
      await check("sold-out");
      await context.close();
    }
    assert.deepEqual(failures, [], `axe violations:\n${failures.join("\n")}`);
  });
});
