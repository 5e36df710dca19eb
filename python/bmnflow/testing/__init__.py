"""Test kit for bmnflow and for DAG authors: real services on loopback, as pytest fixtures.

The fixtures come from :mod:`bmnflow.testing.plugin`, registered as the pytest plugin
``bmnflow``; they are available in any project that installs bmnflow.
"""

from __future__ import annotations
