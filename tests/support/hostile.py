"""Hostile submissions: notebooks that try to gain points they did not earn, or to disturb grading.

Each attack edits answer cells or test cells of the blank release (worth 0) or of the reference
solution (worth 13), or adds cells. ``earned`` gives the points each item may legitimately get.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.rubric import AUTO, item_of

from .paths import RELEASE, SOURCE

FULL = dict(AUTO)
NOTHING = dict.fromkeys(FULL, 0)
SOURCE_NOTEBOOK = str(SOURCE.resolve())

ALL_POINTS = "{" + ", ".join(f'"{k}": {v}' for k, v in FULL.items()) + "}"


@dataclass
class Attack:
    name: str
    what: str
    base: Path
    answers: dict[str, str] = field(default_factory=dict)  # grade id -> new source of that answer cell
    added: list[str] = field(default_factory=list)  # code cells appended to the notebook
    test_cells: str | None = None  # "delete" or "edit" the test cells
    earned: dict[str, float] = field(default_factory=lambda: dict(NOTHING))
    flags: tuple[str, ...] = ()  # the items the grader must flag for a person (issue 21)

    def write(self, folder: Path) -> Path:
        """The hostile notebook, written as ``folder/assignment12.ipynb``."""
        nb = json.loads(self.base.read_text())
        cells = []
        for cell in nb["cells"]:
            meta = cell["metadata"].get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if grade_id in self.answers:
                cell = dict(cell, source=self.answers[grade_id])
            if meta.get("grade") and not meta.get("solution") and self.test_cells:
                if self.test_cells == "delete":
                    continue
                cell = dict(cell, source=f"{FULL[item_of(grade_id)]}")
            cells.append(cell)
        for source in self.added:
            cells.append(
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"added{len(cells)}",
                    "metadata": {},
                    "outputs": [],
                    "source": source,
                }
            )
        nb["cells"] = cells
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "assignment12.ipynb"
        path.write_text(json.dumps(nb))
        return path


def from_reference(item: str, points: float) -> dict[str, float]:
    return dict(FULL, **{item: points})


ATTACKS = [
    Attack(
        "rigged __eq__",
        "returns a tensor subclass whose ==, equal and allclose always say yes",
        RELEASE,
        answers={
            "generate_noisy_samples": "class Liar(torch.Tensor):\n"
            "    def __eq__(self, other): return True\n"
            "    def __ne__(self, other): return False\n"
            "    def allclose(self, *a, **k): return True\n"
            "    def equal(self, *a, **k): return True\n\n"
            "def generate_noisy_samples(x_0, beta):\n"
            "    t = torch.randint(beta.shape[0], size=(x_0.shape[0],))\n"
            "    zero = torch.zeros_like(x_0).as_subclass(Liar)\n"
            "    return zero, zero, t\n"
        },
    ),
    Attack(
        "rigged __float__",
        "train reports a float subclass whose __float__ and item() give a good loss",
        RELEASE,
        answers={
            "train_and_evaluate": "class GoodLoss(float):\n"
            "    def __float__(self): return 0.0191\n"
            "    def item(self): return self\n"
            "    def backward(self): pass\n\n"
            "def train(model, data_loaders, beta, num_epochs=10, lr=1e-3, device=device):\n"
            "    metrics = Metrics(1)\n"
            "    for x, y in data_loaders['train']:\n"
            "        metrics.add(len(x), GoodLoss(5.0))\n\n"
            "def evaluate(model, test_loader, beta, device=device):\n"
            "    return GoodLoss(5.0)\n"
        },
    ),
    Attack(
        "patched torch.allclose",
        "an added cell makes torch.allclose, torch.equal and == always true",
        RELEASE,
        added=[
            "torch.allclose = lambda *args, **kwargs: True\n"
            "torch.equal = lambda *args, **kwargs: True\n"
            "torch.Tensor.__eq__ = lambda self, other: True\n"
        ],
        answers={
            "generate_noisy_samples": "def generate_noisy_samples(x_0, beta):\n    return x_0, x_0, torch.zeros(len(x_0))\n"
        },
    ),
    Attack(
        "patched torch.testing",
        "assert_close and numpy's assert_allclose never fail",
        RELEASE,
        added=[
            "torch.testing.assert_close = lambda *args, **kwargs: None\n"
            "np.testing.assert_allclose = lambda *args, **kwargs: None\n"
        ],
        answers={
            "sample_from_model": "def sample_from_model(x, model, beta, device=device):\n    return x, [x.numpy()]\n"
        },
    ),
    Attack(
        "replaced check function",
        "an added cell replaces autograder.notebook.score with full marks",
        RELEASE,
        added=[f"import autograder.notebook\nautograder.notebook.score = lambda item: {ALL_POINTS}[item]\n"],
    ),
    Attack(
        "patched import",
        "builtins.__import__ hands the hidden tests a fake autograder.notebook",
        RELEASE,
        added=[
            "import builtins, types\n"
            "_real_import = builtins.__import__\n"
            "_fake = types.ModuleType('autograder.notebook')\n"
            f"_fake.score = lambda item: {ALL_POINTS}[item]\n"
            "def _import(name, *args, **kwargs):\n"
            "    return _fake if name == 'autograder.notebook' else _real_import(name, *args, **kwargs)\n"
            "builtins.__import__ = _import\n"
        ],
    ),
    Attack(
        "sys.exit",
        "the answers call sys.exit(0)",
        RELEASE,
        answers={
            "generate_noisy_samples": "import sys\n\ndef generate_noisy_samples(x_0, beta):\n    sys.exit(0)\n",
            "sample_from_model": "import sys\n\ndef sample_from_model(x, model, beta, device=device):\n    sys.exit(0)\n",
        },
    ),
    Attack(
        "os._exit",
        "sample_from_model ends its process; the other answers are correct",
        SOURCE,
        answers={
            "sample_from_model": "import os\n\ndef sample_from_model(x, model, beta, device=device):\n    os._exit(0)\n"
        },
        earned=from_reference("12.6d", 0),
    ),
    Attack(
        "infinite loop",
        "deterministic_sample_from_model never returns; the other answers are correct",
        SOURCE,
        answers={
            "deterministic_sample_from_model": "def deterministic_sample_from_model(x, model, beta, device=device):\n"
            "    while True:\n        pass\n"
        },
        earned=from_reference("12.7c", 0),
    ),
    Attack(
        "memory bomb",
        "train_conditional allocates until memory runs out; the other answers are correct",
        SOURCE,
        answers={
            "train_conditional": "def train_conditional(model, data_loaders, beta, num_epochs=10, lr=1e-3, device=device):\n"
            "    hoard = []\n    while True:\n        hoard.append(torch.ones(10**8))\n\n"
            "def evaluate_conditional(model, test_loader, beta, device=device):\n    return 0.0\n"
        },
        earned=from_reference("12.8c", 0),
    ),
    Attack(
        "stderr spam",
        "correct answers that print to stderr whenever they run",
        SOURCE,
        answers={
            "generate_noisy_samples": (
                "import sys\n\ndef generate_noisy_samples(x_0, beta):\n"
                "    print('spam ' * 1000, file=sys.stderr)\n"
                "    alpha_bar = torch.cumprod(1.0 - beta, dim=0)\n"
                "    t = torch.randint(beta.shape[0], size=(x_0.shape[0],), device=x_0.device)\n"
                "    noise = torch.randn_like(x_0)\n"
                "    ab = alpha_bar[t, None, None, None]\n"
                "    return torch.sqrt(ab) * x_0 + torch.sqrt(1 - ab) * noise, noise, t\n"
            )
        },
        added=["import sys\nfor _ in range(100):\n    print('more spam', file=sys.stderr)\n"],
        earned=dict(FULL),
    ),
    Attack("deleted test cells", "the blank release without its test cells", RELEASE, test_cells="delete"),
    Attack("edited test cells", "every test cell replaced by its full points as a number", RELEASE, test_cells="edit"),
    Attack(
        "pasted reference output",
        "functions return tensors pasted from a reference run",
        RELEASE,
        answers={
            "generate_noisy_samples": "def generate_noisy_samples(x_0, beta):\n"
            "    torch.manual_seed(0)\n"
            "    noise = torch.randn(2, 1, 32, 32)\n"
            "    t = torch.tensor([123, 456])\n"
            "    return torch.sqrt(alpha_bar[t, None, None, None]) * -1 + torch.sqrt(1 - alpha_bar[t, None, None, None]) * noise, noise, t\n",
            "sample_from_model": "def sample_from_model(x, model, beta, device=device):\n"
            "    torch.manual_seed(1)\n    return torch.randn(10, 1, 32, 32).clamp(-1, 1), []\n",
        },
    ),
    Attack(
        "reads the hidden tests and answers from disk",
        "functions load the source notebook and run its answers",
        RELEASE,
        answers={
            "sample_from_model": (
                "import json\n\n"
                "def sample_from_model(x, model, beta, device=device):\n"
                f"    cells = json.load(open({SOURCE_NOTEBOOK!r}))['cells']\n"
                "    source = next(''.join(c['source']) for c in cells\n"
                "                  if c['metadata'].get('nbgrader', {}).get('grade_id') == 'sample_from_model')\n"
                "    scope = dict(globals())\n"
                "    exec(source, scope)\n"
                "    return scope['sample_from_model'](x, model, beta, device)\n"
            )
        },
    ),
    Attack(
        "imports the reference",
        "an added cell imports the reference answers from the autograder package",
        RELEASE,
        added=[
            "from autograder.reference import generate_noisy_samples, train, evaluate, sample_from_model\n"
            "from autograder.reference import deterministic_sample_from_model, train_conditional\n"
            "from autograder.reference import evaluate_conditional, sample_from_model_conditional\n"
        ],
    ),
    Attack(
        "overwrites the notebook on disk",
        "an added cell copies the source notebook over the one being graded",
        RELEASE,
        added=[f"import shutil\n_copied = shutil.copy({SOURCE_NOTEBOOK!r}, 'assignment12.ipynb')\n"],
    ),
    Attack(
        "walks the garbage collector",
        "sample_from_model looks for the reference among all live objects",
        RELEASE,
        answers={
            "sample_from_model": (
                "import gc\n\n"
                "def sample_from_model(x, model, beta, device=device):\n"
                "    for f in gc.get_objects():\n"
                "        if callable(f) and getattr(f, '__module__', '') == 'autograder.reference' and f.__name__ == 'sample_from_model':\n"
                "            return f(x, model, beta, device)\n"
            )
        },
    ),
    Attack(
        "runs a subprocess",
        "generate_noisy_samples shells out to read the reference",
        RELEASE,
        answers={
            "generate_noisy_samples": (
                "import subprocess\n\n"
                "def generate_noisy_samples(x_0, beta):\n"
                f"    subprocess.run(['cat', {SOURCE_NOTEBOOK!r}], capture_output=True)\n"
                "    return x_0, x_0, torch.zeros(len(x_0))\n"
            )
        },
    ),
    Attack(
        "patches the grader's modules",
        "an added cell disables the normality test in every loaded autograder module; the sampler draws z from rand",
        SOURCE,
        added=[
            "import sys\n"
            "_patched = [setattr(m, 'standard_normal_problem', lambda *a, **k: None)\n"
            "            for n, m in list(sys.modules.items()) if n.startswith('autograder')]\n"
        ],
        answers={"sample_from_model": None},
        earned=from_reference("12.6d", 1),
    ),
]


def _rand_sampler() -> str:
    """The reference sample_from_model with z drawn from rand instead of randn (one mistake: -1)."""
    nb = json.loads(SOURCE.read_text())
    source = next(
        "".join(c["source"])
        for c in nb["cells"]
        if c["metadata"].get("nbgrader", {}).get("grade_id") == "sample_from_model"
    )
    return source.replace("z = torch.randn_like(x) if i > 0", "z = torch.rand_like(x) if i > 0")


ATTACKS[-1].answers["sample_from_model"] = _rand_sampler()


# --- issue 21: samplers that behave well only under grading ------------------------------------------------------
#
# Each is the reference sample_from_model, but with σ_t = β_t (one mistake: -1) when it sees signs of the
# notebook, and σ_t = √β_t otherwise. It must earn what its notebook code earns (1 of 2) and be flagged.


def _two_faced(notebook: str, imports: str = "") -> str:
    """The reference sample_from_model, with the wrong σ_t = β_t where ``notebook`` (an expression) is true."""
    source = _reference_answer("sample_from_model")
    return imports + source.replace(
        "sigma = torch.sqrt(beta[i])", f"sigma = beta[i] if {notebook} else torch.sqrt(beta[i])"
    )


def _reference_answer(grade_id: str) -> str:
    nb = json.loads(SOURCE.read_text())
    return next(
        "".join(c["source"]) for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == grade_id
    )


TWO_FACED = [
    Attack(
        f"two-faced sampler: {name}",
        f"sample_from_model uses σ_t = β_t in the notebook and √β_t under grading; it tells them apart by {name}",
        SOURCE,
        answers={"sample_from_model": _two_faced(condition, imports)},
        earned=from_reference("12.6d", 1),
        flags=("12.6d",),
    )
    for name, condition, imports in [
        ("the model's exact type", "type(model) is UNet", ""),
        ("the model's forward", "type(model).forward is UNet.forward", ""),
        (
            "the caller's module",
            "inspect.currentframe().f_back.f_globals.get('__name__') == '__main__'",
            "import inspect\n",
        ),
        (
            "no grader frame on the stack",
            "not any('grading' in f.f_globals.get('__name__', '') for f in _frames())",
            "import inspect\n\ndef _frames():\n    f = inspect.currentframe()\n    while f:\n        yield f\n"
            "        f = f.f_back\n\n",
        ),
        ("the schedule's length", "len(beta) == diffusion_steps < 1000", ""),
        ("the batch shape", "x.shape[0] == 10", ""),
        ("quick mode", "QUICK", ""),
    ]
] + [
    # The stand-ins present the provided class (standins.presenting): this trick sees the notebook's model
    # under grading too, so its code behaves as in the notebook and is graded as such, with nothing to flag.
    Attack(
        "two-faced sampler: the model's class name, module and attributes",
        "σ_t = β_t when the model looks like the notebook's UNet: its class name and module, its attributes, "
        "its parameters, nothing extra in vars()",
        SOURCE,
        answers={
            "sample_from_model": _two_faced(
                "(type(model).__name__ == 'UNet' and type(model).__module__ == '__main__' and isinstance(model, UNet)"
                " and hasattr(model, 'sa3') and not hasattr(model, 'calls') and sorted(vars(model)) == _UNET_VARS"
                " and [p.shape for p in model.parameters()] == _UNET_SHAPES)",
                "_UNET_VARS = sorted(vars(UNet()))\n_UNET_SHAPES = [p.shape for p in UNet().parameters()]\n\n",
            )
        },
        earned=from_reference("12.6d", 1),
    )
]
ATTACKS += TWO_FACED


# --- attacks on the kernel, its files and its environment, graded through `a12 autograde` ------------------------
#
# Each attacker submits the reference solution less two answers (train/evaluate and sample_from_model,
# 5 points): it honestly earns 8 of 13 auto points. Its attack cells run first, right after the
# imports, so that they act on everything after them. SECRET marks what must never reach feedback.

SECRET = "A12-SECRET-7c1e"
HONEST = dict(FULL, **{"12.5c": 0, "12.6d": 0})
STUBBED = ("train_and_evaluate", "sample_from_model")
PEERS = ("ana", "blank")  # the honest student (13) and the blank release (0) graded beside the attackers
FULL_POINTS = "{" + ", ".join(f'"{k}": {v}' for k, v in FULL.items()) + "}"
COURSE = "__import__('pathlib').Path.cwd().parents[2]"  # the kernel's folder is autograded/<student>/assignment12


@dataclass
class KernelAttack:
    """A hostile submission of one attack class: cells that run before the answers, and files beside the notebook."""

    student: str
    kind: str
    what: str
    cells: list[str]
    files: dict[str, str] = field(default_factory=dict)  # path beside the notebook -> text


KERNEL_ATTACKS = [
    KernelAttack(
        "rewrite",
        "in-kernel rewriting",
        "IPython input and AST transformers, display hook, print, "
        "sys.stdout and a fake autograder.notebook in sys.modules all report full points",
        [
            "import ast, builtins, io, sys, types\n"
            "ip = get_ipython()\n"
            f"FULL = {FULL_POINTS}\n"
            "ip.input_transformers_post.append(lambda lines: [l.replace('score(\"', 'FULL.get(\"') for l in lines])\n"
            "class Full(ast.NodeTransformer):\n"
            "    def visit_Call(self, node):\n"
            "        if getattr(node.func, 'id', '') == 'score':\n"
            "            return ast.copy_location(ast.Subscript(ast.Name('FULL', ast.Load()), node.args[0], ast.Load()), node)\n"
            "        return node\n"
            "ip.ast_transformers.append(Full())\n"
            "fake = types.ModuleType('autograder.notebook')\n"
            "fake.score = lambda item: FULL[item]\n"
            "sys.modules['autograder.notebook'] = fake\n"
            "_print = builtins.print\n"
            "builtins.print = lambda *a, **k: _print(*[str(x).replace('0 of', 'all of') for x in a], **k)\n"
            "_hook = ip.displayhook.compute_format_data\n"
            "ip.displayhook.compute_format_data = lambda result: _hook(3.0)\n"
        ],
    ),
    KernelAttack(
        "files",
        "file system",
        "writes gradebook.db with sqlite3, other students' notebooks, the grader's "
        "code, nbgrader_config.py, startup and sitecustomize files, a package that shadows the grader's, "
        "and copies another student's answers over its own",
        [
            "import glob, json, os, pathlib, shutil, sqlite3, site, sysconfig\n"
            f"course = {COURSE}\n"
            "def attempt(action):\n"
            "    try:\n"
            "        action()\n"
            "    except Exception as error:\n"
            "        print('refused:', type(error).__name__)\n"
            "def zero_everyone():\n"
            "    db = sqlite3.connect(course / 'gradebook.db')\n"
            "    db.execute('update grade set auto_score = 0')\n"
            '    db.execute("update grade set manual_score = max_score")\n'
            "    db.commit()\n"
            "attempt(zero_everyone)\n"
            "attempt(lambda: (course / 'submitted' / 'ana' / 'assignment12' / 'assignment12.ipynb').write_text('{}'))\n"
            "attempt(lambda: (course / 'autograded' / 'ana' / 'assignment12' / 'assignment12.ipynb').write_text('{}'))\n"
            "attempt(lambda: shutil.copy(course / 'submitted' / 'ana' / 'assignment12' / 'assignment12.ipynb', "
            "'assignment12.ipynb'))\n"
            "attempt(lambda: shutil.copy(course / 'submitted' / 'ana' / 'assignment12' / 'assignment12.ipynb', "
            "course / 'submitted' / 'files' / 'assignment12' / 'assignment12.ipynb'))\n"
            "import autograder\n"
            "package = pathlib.Path(autograder.__file__).parent\n"
            "for name in ('notebook.py', 'reference.py', 'grade.py', 'checks/sampling.py'):\n"
            "    attempt(lambda: open(package / name, 'a').write('\\nraise SystemExit(0)\\n'))\n"
            "attempt(lambda: open(course / 'nbgrader_config.py', 'a').write('\\nc.Execute.timeout = 1\\n'))\n"
            "attempt(lambda: (course / 'autograder').mkdir())\n"
            "attempt(lambda: (course / 'autograder' / '__init__.py').write_text('raise SystemExit(0)'))\n"
            "home = pathlib.Path(os.path.expanduser('~' + __import__('pwd').getpwuid(0).pw_name))\n"
            "for folder in (home, pathlib.Path.home()):\n"
            "    startup = folder / '.ipython' / 'profile_default' / 'startup'\n"
            "    attempt(lambda: startup.mkdir(parents=True, exist_ok=True))\n"
            "    attempt(lambda: (startup / '00-zero.py').write_text('raise SystemExit(0)'))\n"
            "for folder in {sysconfig.get_paths()['purelib'], *site.getsitepackages()}:\n"
            "    attempt(lambda: open(os.path.join(folder, 'sitecustomize.py'), 'w').write('raise SystemExit(0)'))\n"
            "    attempt(lambda: open(os.path.join(folder, 'zzz-a12.pth'), 'w').write('import os; os._exit(0)'))\n"
        ],
    ),
    KernelAttack(
        "detach",
        "processes",
        "a double-forked, setsid process that outlives grading, then edits the gradebook and the autograded notebooks",
        [
            "import os, sys\n"
            "STRIKE = '\\n'.join([\n"
            "    'import pathlib, sys, time',\n"
            "    'time.sleep(8)  # grading has ended by then',\n"
            "    'course = pathlib.Path(sys.argv[1])',\n"
            '    \'for target in [course / "gradebook.db", *course.glob("autograded/*/assignment12/*.ipynb")]:\',\n'
            "    '    try:',\n"
            '    \'        open(target, "ab").write(b"A12-DETACHED")\',\n'
            "    '    except OSError:',\n"
            "    '        pass',\n"
            "    'time.sleep(60)'])\n"
            "if os.fork() == 0:\n"
            "    os.setsid()\n"
            "    if os.fork() == 0:  # a marked command line, to find it by\n"
            f"        os.execv(sys.executable, [sys.executable, '-c', STRIKE, str({COURSE}), 'A12-DETACHED'])\n"
            "    os._exit(0)\n"
        ],
    ),
    KernelAttack(
        "secrets",
        "reading secrets",
        "prints the source notebook, the hidden tests, reference.py, the "
        "gradebook, another submission, the instructor's home and the environment",
        [
            "import glob, os, pathlib\n"
            f"course = {COURSE}\n"
            "paths = [course / 'source' / 'assignment12' / 'assignment12.ipynb', course / 'gradebook.db',\n"
            "         course / 'submitted' / 'ana' / 'assignment12' / 'assignment12.ipynb', 'assignment12.ipynb',\n"
            "         os.path.join(os.path.dirname(__import__('autograder').__file__), 'reference.py'),\n"
            "         os.path.expanduser('~root/.ssh/id_rsa'), *glob.glob('/home/*/.ssh/*'), '/etc/shadow']\n"
            "for path in paths:\n"
            "    try:\n"
            "        print(path, pathlib.Path(path).read_text(errors='replace')[:20000])\n"
            "    except Exception as error:\n"
            "        print(path, 'refused:', type(error).__name__)\n"
            "print(dict(os.environ))\n"
        ],
    ),
    KernelAttack(
        "beside",
        "submitted files",
        "a package named like the grader's and a sitecustomize.py submitted beside the notebook, no attack code in it",
        [],
        files={
            "autograder/__init__.py": "",
            "autograder/notebook.py": f"def score(item):\n    return {FULL_POINTS}[item]\n",
            "sitecustomize.py": "import os\nos.environ['A12_HIJACKED'] = '1'\n",
        },
    ),
]


def kernel_attack_notebook(root: Path, attack: KernelAttack):
    """The attacker's notebook in the course at ``root``: the solution's answers, ``STUBBED`` blank, the
    attack cells right after the imports."""
    import nbformat

    from autograder.course import demo

    nb = demo.student_notebook(root, demo.DemoStudent(attack.student, attack.what, added={"imports": ""}))
    cells = []
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in STUBBED:
            cell.source = "# YOUR CODE HERE\nraise NotImplementedError()"
        if cell.cell_type == "code" and cell.source == "":  # where demo put the added cell
            cells += [nbformat.v4.new_code_cell(source) for source in attack.cells]
            continue
        cells.append(cell)
    nb.cells = cells
    return nb
