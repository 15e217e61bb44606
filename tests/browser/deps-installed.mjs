// Exits 0 when node_modules holds exactly the versions package.json pins, and vnu-jar's jar is
// where the package says it is (make test-deps then skips `npm ci`), 1 otherwise.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";

const read = (file) => JSON.parse(readFileSync(new URL(file, import.meta.url), "utf8"));
try {
  for (const [name, version] of Object.entries(read("./package.json").devDependencies)) {
    if (read(`./node_modules/${name}/package.json`).version !== version) process.exit(1);
  }
  // The Rust HTML check runs this jar (32 MB): a package.json without it is not installed.
  if (!existsSync(String(createRequire(import.meta.url)("vnu-jar")))) process.exit(1);
} catch {
  process.exit(1);
}
