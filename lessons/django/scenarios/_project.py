"""What every scenario does first: the project on the path, Django set up."""

import os
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def setup() -> Path:
    sys.path.insert(0, str(PROJECT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopsite.settings")
    import django

    django.setup()
    return PROJECT
