// Exits 0 when node_modules holds exactly the versions package.json pins (make test-deps then
// skips `npm ci`), 1 otherwise.
import { readFileSync } from "node:fs";

const read = (file) => JSON.parse(readFileSync(new URL(file, import.meta.url), "utf8"));
try {
  for (const [name, version] of Object.entries(read("./package.json").devDependencies)) {
    if (read(`./node_modules/${name}/package.json`).version !== version) process.exit(1);
  }
} catch {
  process.exit(1);
}
