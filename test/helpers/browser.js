// Headless Chromium for end-to-end tests of the web page (playwright-core, the system's Chromium).
/* global window, document */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** A skip reason for node:test when Chromium is not installed, else false. */
export const chromiumMissing = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing; install it with: apt-get update && apt-get install -y chromium`;

/** Launches Chromium and closes it when the test ends, whatever happened. */
export async function launchBrowser(t) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  return browser;
}

/**
 * A page in its own context (fresh storage, given locale and viewport) that records console
 * errors, uncaught page errors and CSP violations; the context closes when the test ends.
 */
export async function openPage(browser, t, { locale = 'en-US', viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ locale, viewport });
  t.after(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Init scripts are injected by the browser itself, so the page's CSP does not block them.
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  return { page, context, problems };
}

/** Console problems and CSP violations, minus the expected ones (e.g. the 404 of a missing id). */
export async function unexpectedProblems(page, problems, allowed = []) {
  const violations = await page.evaluate(() => window.__cspViolations ?? []);
  return [...problems, ...violations.map((v) => `csp: ${v}`)].filter((p) => !allowed.some((re) => re.test(p)));
}
