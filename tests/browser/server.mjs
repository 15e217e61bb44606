// Starts the built `jkjav serve` on a free loopback port with this directory's catalogue, and
// Debian's chromium through playwright-core. Missing parts fail loudly: nothing is skipped.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, "..", "..");
export const artifacts = path.join(root, "test-artifacts", "screenshots");
const binary = path.join(root, "target", "debug", "jkjav");
const CHROMIUM = "/usr/bin/chromium";

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(base, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`jkjav exited with code ${child.exitCode} before answering`);
    }
    try {
      const response = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(500) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`jkjav did not answer ${base}/healthz within ${deadlineMs} ms`);
}

/** A fresh server (in-memory store) for one test; `stop()` kills it. */
export async function startServer() {
  if (!existsSync(binary)) {
    throw new Error(`${binary} is missing: run \`cargo build -j2\` first (make test does).`);
  }
  const port = await freePort();
  const child = spawn(
    binary,
    ["serve", "--host", "127.0.0.1", "--port", String(port), "--catalogue", path.join(here, "catalogue.toml")],
    { env: {
      ...process.env,
      JKJAV_LOG: "warn",
      // Any free port for the operators' endpoints, so servers never collide on the default.
      JKJAV_ADMIN_ADDR: "127.0.0.1:0",
      JKJAV_SHUTDOWN_GRACE_SECS: "1",
      // Availability may lag bookings by this much; short, so a full slot shows full at once.
      JKJAV_SNAPSHOT_MAX_AGE_MS: "50",
    }, stdio: ["ignore", "ignore", "inherit"] },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(base, child, 15_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    base,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Debian's chromium, never a downloaded browser. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing. The browser tests need Debian's chromium: run \`make test-deps\` ` +
        "(apt-get install -y chromium).",
    );
  }
  let chromium;
  try {
    ({ chromium } = await import("playwright-core"));
  } catch {
    throw new Error("playwright-core is not installed: run `npm ci --prefix tests/browser` (make test-deps does).");
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    timeout: 30_000,
  });
}

export function axePath() {
  const file = path.join(here, "node_modules", "axe-core", "axe.min.js");
  if (!existsSync(file)) {
    throw new Error("axe-core is not installed: run `npm ci --prefix tests/browser` (make test-deps does).");
  }
  return file;
}

export function screenshotDir() {
  mkdirSync(artifacts, { recursive: true });
  return artifacts;
}
