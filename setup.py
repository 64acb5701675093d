"""`pip install .`: the Python module rdasim, the `rdasim` program and the data folder they read
(presets, LLM configs, frameworks, plot scripts), built by CMake from this checkout.

CMake is the one build: this file runs `tools/build.sh python` (the `python` preset of
CMakePresets.json, into build/python, through ccache) and `cmake --install` of two components
into a staging folder, then hands setuptools what landed there: the module as the extension
`rdasim`, the program and the data as data files under the environment's prefix
(<venv>/bin/rdasim, <venv>/share/rdasim/...), where core::data_dir finds them from the module
(<venv>/lib/pythonX.Y/site-packages) and from the program. The version is the commit
(cmake/RdasimVersion.cmake), as rdasim.__version__ says.

    python3 -m venv --system-site-packages ~/rdasim-env     # keeps Debian's numpy and torch
    ~/rdasim-env/bin/pip install --no-build-isolation .
"""
import os
import pathlib
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent
BUILD = ROOT / "build" / "python"


def version():
    out = BUILD / "version.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cmake", f"-DSOURCE_DIR={ROOT}", f"-DTEXT_OUT={out}", "-P", str(ROOT / "cmake" / "RdasimVersion.cmake")],
                   check=True)
    return out.read_text().strip()


class CMakeBuild(build_ext):
    """Builds with CMake and stages what `cmake --install` puts in the wheel."""

    def build_extension(self, ext):
        subprocess.run([str(ROOT / "tools" / "build.sh"), "python", "rdasim_python", "rdasim"], check=True,
                       env={**os.environ, "RDASIM_JOBS": os.environ.get("RDASIM_JOBS", str(os.cpu_count() or 2))})
        stage = pathlib.Path(self.build_temp).resolve() / "stage"
        shutil.rmtree(stage, ignore_errors=True)
        for component in ("python", "runtime"):
            subprocess.run(["cmake", "--install", str(BUILD), "--prefix", str(stage), "--component", component],
                           check=True, stdout=subprocess.DEVNULL)
        module = next(stage.glob("lib/python*/site-packages/rdasim*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module, target)
        # The program and the data folder, relative to the environment's prefix. Added here, after
        # the build, because CMake decides what they are; install_data reads the list later.
        files = {}
        for path in sorted(p for p in stage.rglob("*") if p.is_file() and "site-packages" not in p.parts):
            files.setdefault(str(path.parent.relative_to(stage)), []).append(str(path))
        self.distribution.data_files = sorted(files.items())


setup(
    name="rdasim",
    version=version(),
    description="Mapper and cycle-approximate simulator for reconfigurable-dataflow accelerators",
    python_requires=">=3.11",
    ext_modules=[Extension("rdasim", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    options={"egg_info": {"egg_base": str(BUILD.relative_to(ROOT))}},  # build output stays under build/
    zip_safe=False,
)
