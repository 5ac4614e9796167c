"""One module a check. Each takes what it needs and returns a `CheckResult`; none raises for a
bad credential."""
