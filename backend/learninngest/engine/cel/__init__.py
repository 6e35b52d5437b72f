"""CEL expressions (trigger `if`, cancel and wait conditions, keys): parse, compile, evaluate; pure."""
