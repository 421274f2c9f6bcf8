"""Who owns the shared platform: every platform-wide resource is tagged with this team's e-mail
(``mlops:owner``), as each model's resources are tagged with their spec's owner."""

from __future__ import annotations

from config.model_spec import Owner

PLATFORM_OWNER = Owner(team="ml-platform", email="ml-platform@example.com")

__all__ = ["PLATFORM_OWNER"]
