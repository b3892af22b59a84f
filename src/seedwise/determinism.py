"""Old path of :mod:`seedwise.process.determinism`. Import from there.

``seedwise.determinism`` is also a public attribute of the package (``sw.determinism``),
so this path is an alias of the new module rather than a copy of its names: importing
it gives :mod:`seedwise.process.determinism` itself, and ``sw.determinism`` stays that.
"""

import sys

from seedwise.process import determinism as _determinism

sys.modules[__name__] = _determinism
