"""The wiring checks are plain modules beside their tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# scripts/template.py reads infra/template.yaml for the local stack; the checks read it the same way.
sys.path.insert(1, str(Path(__file__).resolve().parents[2] / "scripts"))
