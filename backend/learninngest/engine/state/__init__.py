"""Persistent run state (SQLite): events, apps, runs, steps; retention of finished runs."""
