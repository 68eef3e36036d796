"""Only the optional compiled search loops live here; everything else is in pyproject.toml.

`optional=True`: where no C compiler exists the install still succeeds and hashcore runs its NumPy
code instead (hashcore.search.kernels.available() says which one is in use).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "hashcore.search._kernels",
            ["hashcore/search/_kernels.c"],
            extra_compile_args=["-O3", "-fvisibility=hidden"],
            optional=True,
        )
    ]
)
