"""The one compiled part: ripple.store._codec (the write path's item codec, see its header).

``optional=True``: where no C compiler is available the install still succeeds and ripple uses the
pure-Python codec, which gives the same bytes, only slower (``ripple.store.codec.COMPILED`` says which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("ripple.store._codec", ["src/ripple/store/_codec.c"], optional=True, extra_compile_args=["-O2"]),
    ]
)
