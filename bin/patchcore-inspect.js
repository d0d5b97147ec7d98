#!/usr/bin/env node
"use strict";
// The CLI is TypeScript (scripts/cli); tsx compiles it on the fly.
require("tsx/cjs");
require("../scripts/cli/main.ts");
