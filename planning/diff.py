"""Placeholder: the diff of a plan against AWS."""

from __future__ import annotations
