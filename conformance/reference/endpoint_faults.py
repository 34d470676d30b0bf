"""Faults registered by this module (imported by faults.py so that they register)."""

from __future__ import annotations
