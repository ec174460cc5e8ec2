#!/usr/bin/env node
// Exit 0 when node_modules already holds what package-lock.json asks for, so `npm run setup` can
// skip `npm ci` (which deletes and rebuilds node_modules: ~20 s, and it breaks any process that is
// using node_modules at that moment).
//
// Plain CommonJS without dependencies: it runs before anything is installed.
// Optional packages may be absent (tfjs-node-gpu's install script downloads libtensorflow and
// fails without internet; npm then leaves it out and still exits 0).
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const quiet = process.argv.includes("--quiet");

function out(why) {
  if (!quiet) console.log(`[setup] node_modules out of date: ${why}`);
  process.exit(1);
}

const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"));
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

// package.json edited without updating the lock: npm ci will refuse and say so.
const locked = lock.packages?.[""] ?? {};
for (const field of ["dependencies", "devDependencies", "optionalDependencies"]) {
  for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
    if ((locked[field] ?? {})[name] !== spec) out(`${name}@${spec} (${field}) is not in package-lock.json`);
  }
}

for (const [where, entry] of Object.entries(lock.packages ?? {})) {
  if (where === "" || entry.link) continue;
  const manifest = path.join(root, where, "package.json");
  if (!fs.existsSync(manifest)) {
    if (entry.optional) continue;
    out(`${where} is missing`);
  }
  const version = JSON.parse(fs.readFileSync(manifest, "utf8")).version;
  if (entry.version && version !== entry.version) out(`${where} is ${version}, lock says ${entry.version}`);
}
