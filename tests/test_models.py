"""The model helpers of app.core.models."""

import subprocess
import sys

# A fresh interpreter: the suite's own process configured the mappers long ago.
_FIRST_USE = """
import uuid
from app.clinics.models import Clinic
from app.core.models import as_loaded
clinic = as_loaded(Clinic, {"id": uuid.UUID(int=1), "name": "Tannlege Berg"})
print(clinic.id, clinic.name)
"""


def test_as_loaded_works_as_a_process_first_use_of_the_models() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_USE], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["00000000-0000-0000-0000-000000000001", "Tannlege", "Berg"]
