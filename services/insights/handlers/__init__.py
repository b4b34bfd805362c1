"""Insights' writes: counting events into the projections, and setting targets."""
