"""Build script: compiles the Cython sources in _core/ into chipletarch._core.<name>.

Package metadata lives in pyproject.toml; this file only adds what pyproject cannot say:
the Cython extensions (numpy headers, -O3, language level 3) and the mapping of the top-level
data folders architectures/ and workloads/ into the installed package, so that a user who did a
plain `pip install .` can load bundled designs and models by name.
"""
import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent

extensions = [
    Extension(
        f"chipletarch._core.{pyx.stem}",
        [str(pyx.relative_to(HERE))],
        include_dirs=[np.get_include()],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for pyx in sorted((HERE / "_core").glob("*.pyx"))
    # Developers may rebuild one module while another is mid-edit:
    #   CHIPLETARCH_BUILD_ONLY=mx,engine python setup.py build_ext --inplace
    if not os.environ.get("CHIPLETARCH_BUILD_ONLY")
    or pyx.stem in os.environ["CHIPLETARCH_BUILD_ONLY"].split(",")
]

# Data folders travel inside the package as chipletarch._architectures / chipletarch._workloads.
DATA_PACKAGES = {
    "chipletarch._architectures": "architectures",
    "chipletarch._workloads": "workloads",
}

setup(
    packages=find_packages(include=["chipletarch", "chipletarch.*"]) + list(DATA_PACKAGES),
    package_dir={"": ".", **DATA_PACKAGES},
    package_data={
        "chipletarch._architectures": ["*.yaml"],
        "chipletarch._workloads": ["*/*.yaml", "*/*.json", "*.yaml"],
    },
    include_package_data=False,
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3, "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
    ),
    zip_safe=False,
)
