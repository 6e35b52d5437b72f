"""The engine's HTTP surface for people and tools: REST v1, GraphQL, the dashboard and its login."""
