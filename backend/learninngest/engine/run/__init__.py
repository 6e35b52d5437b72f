"""The run loop: events in, runs created, queued, called step by step, finished; cron; AI steps."""
