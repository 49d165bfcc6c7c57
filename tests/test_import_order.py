"""oneDNN's ISA must be set before MindSpore loads: mm_train's front modules must not import it."""
import json
import subprocess
import sys

import pytest

FRONT = ["mm_train.app.entry", "mm_train.jobs", "mm_train.config.schema", "mm_train.runtime.debug", "mm_train.config.recipes",
         "mm_train.commands", "mm_train.core.device", "mm_train.registry", "mm_train.reports.sweep_report", "hydra_plugins.mm_train_recipes"]


@pytest.mark.slow   # needs a fresh interpreter
def test_front_modules_do_not_import_mindspore():
    code = f"import sys; import {', '.join(FRONT)}; print('mindspore' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


@pytest.mark.slow   # needs a process whose MindSpore is not loaded yet
def test_a_run_applies_the_cpu_isa_before_mindspore_loads(tmp_path):
    from helpers import run_py
    result = run_py("+recipe=quickstart", "debug=fast", f"hydra.run.dir={tmp_path}", env={"ONEDNN_MAX_CPU_ISA": ""})
    assert result.returncode == 0, result.stderr
    assert "comes too late" not in result.stdout + result.stderr
    info = json.loads((tmp_path / "run_info.json").read_text())
    assert info["environment"]["ONEDNN_MAX_CPU_ISA"] == "AVX2"
