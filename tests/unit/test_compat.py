"""dmm_ryu.of.compat binds to whichever framework's manager is running."""
import subprocess
import sys


def framework_when(preload: str, env_choice: str = "") -> str:
    code = f"{preload}\nfrom dmm_ryu.of import compat; print(compat.FRAMEWORK, compat.RyuApp.__module__)"
    env = {"PATH": "/usr/bin:/bin", "DMM_RYU_FRAMEWORK": env_choice} if env_choice else None
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_binds_to_ryu_when_ryu_manager_loaded_it():
    assert framework_when("import ryu.base.app_manager") == "ryu ryu.base.app_manager"


def test_binds_to_os_ken_when_osken_manager_loaded_it():
    assert framework_when("import os_ken.base.app_manager") == "os_ken os_ken.base.app_manager"


def test_environment_chooses_when_nothing_is_loaded():
    assert framework_when("", env_choice="os_ken") == "os_ken os_ken.base.app_manager"


def test_unknown_framework_name_is_a_clear_error():
    code = "from dmm_ryu.of import compat"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"DMM_RYU_FRAMEWORK": "pox"})
    assert "DMM_RYU_FRAMEWORK='pox'" in result.stderr
