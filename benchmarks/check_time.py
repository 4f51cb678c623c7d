"""How long the auto-graded checks of one submission take: `python -m benchmarks.check_time [--repeat 3]`.

For the reference solution, the blank release and two flawed submissions, it times the whole
independent grading (`python -m autograder.grading.grade`, a fresh process: imports included) and prints,
per item, when its sandboxed child reported. The goal is under 20 s per submission on 2 CPU cores.
"""

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from autograder.course.regrade import grade_in_fresh_process
from tests.support.hostile import FULL, Attack
from tests.support.paths import RELEASE, SOURCE


def submissions(folder: Path) -> dict[str, Path]:
    flawed_sampler = Attack(
        "flawed",
        "",
        SOURCE,
        answers={
            "sample_from_model": (
                "def sample_from_model(x, model, beta, device=device):\n"
                "    alpha = 1 - beta\n    alpha_bar = torch.cumprod(alpha, 0)\n"
                "    for i in reversed(range(beta.shape[0])):\n"
                "        t = torch.full((x.shape[0],), i)\n"
                "        x = (x - (1 - alpha[i]) / torch.sqrt(1 - alpha_bar[i]) * model(x, t)) / torch.sqrt(alpha[i])\n"
                "        x = x + beta[i] * torch.randn_like(x)\n"
                "    return x, []\n"
            )
        },
        earned=dict(FULL),
    )
    return {"reference": SOURCE, "blank release": RELEASE, "flawed sampler": flawed_sampler.write(folder / "flawed")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name, notebook in submissions(Path(scratch)).items():
            walls, report = [], None
            for _ in range(args.repeat):
                start = time.perf_counter()
                report = grade_in_fresh_process(notebook)
                walls.append(time.perf_counter() - start)
            items = ", ".join(f"{item} {seconds:.1f}" for item, seconds in report.seconds.items())
            print(
                f"{name}: {report.points:g}/13 in {statistics.median(walls):.1f} s (median of {args.repeat}, "
                f"min {min(walls):.1f}); children reported after [s]: {items}"
            )


if __name__ == "__main__":
    main()
