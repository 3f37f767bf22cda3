"""Data contracts: pandera schemas for every frame that crosses a boundary, and Great Expectations suites."""
