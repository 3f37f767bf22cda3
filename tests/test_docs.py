import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_api_reference_matches_the_service_openapi_spec():
    out = subprocess.run([sys.executable, str(ROOT / "docs" / "generate_api_reference.py"), "--check"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr


def test_operator_docs_exist_and_link_real_commands():
    for name in ("user_guide.md", "model_guide.md", "runbook.md", "api_reference.md"):
        assert (ROOT / "docs" / name).stat().st_size > 1000, name
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    assert "set_registered_model_alias" in runbook or "model-versions" in runbook
