"""Tests of the offline model: pure answers and grammar, then faults over real HTTP."""
