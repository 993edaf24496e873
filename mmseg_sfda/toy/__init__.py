"""The toy domain-shift benchmark's procedural scenes (no download)."""
