"""Spending caps (issue 12 §5): a clinic's monthly spend cap and per-patient daily cap."""
