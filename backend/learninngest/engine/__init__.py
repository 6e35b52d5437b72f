"""The local Inngest-compatible engine: event API, app sync, run loop, REST v1, dashboard.

Start it with `create_engine_app(EngineSettings(...))` (see app.py) or `learninngest engine`.
"""
