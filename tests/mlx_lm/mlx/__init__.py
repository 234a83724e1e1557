"""Test double of the `mlx` package (only `mlx.core`)."""
