#!/usr/bin/env node
// The published form runs the compiled CLI; `npm run build` (tsc -b) produces dist/.
import "../dist/main.js";
