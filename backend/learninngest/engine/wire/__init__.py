"""The wire to apps: the SDK protocol (pure), signing, the driver that calls a function, the AI gateway."""
