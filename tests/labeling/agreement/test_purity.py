"""The agreement package stays pure: importing it loads no Django module."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_agreement_package_imports_no_django():
    code = (
        "import sys\n"
        "import labeling.agreement.report, labeling.agreement.bootstrap\n"
        "import labeling.agreement.first_error, labeling.agreement.metrics\n"
        "import labeling.agreement.disputes, labeling.agreement.trend\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    # labeling/__init__.py is empty, so importing the subpackage runs no Django app code.
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )
    assert done.stdout.strip() == ""
