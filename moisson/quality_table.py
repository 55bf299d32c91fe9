"""Placeholder: written by bench/quality_thresholds.py."""

LANGUAGE_THRESHOLDS = {}

SCRIPT_THRESHOLDS = {}
