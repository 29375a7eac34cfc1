"""gort's internal packages (Go: internal/): no API promise; used by gort's public modules."""
