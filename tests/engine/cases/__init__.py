"""One behaviour per module. Each defines APP_ID, `functions(client, box)` and `check(ctx)`;
optional ENGINE (engine settings overrides), SIGNED (serve the app in cloud mode) and SERVE (more
arguments for `inngest.fast_api.serve`, e.g. `streaming`).
test_cases.py runs every case against the local engine and, when given, a real Dev Server."""
