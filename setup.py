"""The one compiled part of limecli; everything else is configured in pyproject.toml.

The tabular draw's inner loop (limecli/sampling/_draw.c) as a C extension. It is
optional: an install without a C compiler goes on, and the same draws come from
numpy, at about half the speed. No floating-point contraction: the loop must round as
numpy does, to give the same bits (tests/test_compiled_draw.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "limecli.sampling._draw",
            sources=["limecli/sampling/_draw.c"],
            optional=True,
            extra_compile_args=["-O2", "-ffp-contract=off"],
        )
    ]
)
