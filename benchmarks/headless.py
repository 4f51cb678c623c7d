"""Let ``autograder.provided`` import on a bare machine (a GPU image without IPython, say).

The notebook's ``Plotter`` draws with matplotlib and shows figures through ``IPython.display``.
``install`` puts matplotlib on its file backend, and stands in for a package that is missing
with a module that accepts every call and shows nothing.
"""

import sys
import types


def _nothing(name: str) -> "_Nothing":
    if name.startswith("__"):  # not a dunder: inspect and friends probe modules for them
        raise AttributeError(name)
    return _Nothing()


class _Nothing:
    """Accepts any attribute, call or unpacking into two; does nothing."""

    def __getattr__(self, name: str) -> "_Nothing":
        return _nothing(name)

    def __call__(self, *args, **kwargs) -> "_Nothing":
        return self

    def __iter__(self):
        return iter((self, self))  # fig, axes = plt.subplots(...)


def _stand_in(name: str) -> None:
    module = types.ModuleType(name, f"stand-in for {name}, which is not installed: shows nothing")
    module.__getattr__ = _nothing
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)


def install() -> list[str]:
    """Make ``IPython.display`` and ``matplotlib.pyplot`` importable; return the stand-ins made."""
    made = []
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401
    except ImportError:
        _stand_in("matplotlib")
        _stand_in("matplotlib.pyplot")
        made.append("matplotlib")
    try:
        import IPython.display  # noqa: F401
    except ImportError:
        _stand_in("IPython")
        _stand_in("IPython.display")
        made.append("IPython")
    return made
