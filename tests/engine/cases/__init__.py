"""One behaviour per module. Each defines APP_ID, `functions(client, box)` and `check(ctx)`;
optional ENGINE (engine settings overrides) and SIGNED (serve the app in cloud mode).
test_cases.py runs every case against the local engine and, when given, a real Dev Server."""
