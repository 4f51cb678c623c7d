"""Grading engine."""
