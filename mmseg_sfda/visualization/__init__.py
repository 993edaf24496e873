"""Pictures: packed samples with label overlays, prediction grids."""
