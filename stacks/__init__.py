"""Stacks only compose constructs from ``mlops_constructs`` and wire them together."""
