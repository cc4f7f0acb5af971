"""Where the files that ship with timebank lie: templates, migrations, catalogues.

In an installed wheel the build has put ``templates/`` and ``migrations/`` inside the package
(see ``[tool.hatch.build.targets.wheel.force-include]`` in pyproject.toml); in a checkout
(and an editable install) they sit at the top of the repository, beside the package.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _shipped(name: str) -> Path:
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


TEMPLATES_DIR = _shipped("templates")
MIGRATIONS_DIR = _shipped("migrations")
LOCALE_DIR = PACKAGE_DIR / "locale"
