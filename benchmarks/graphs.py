"""One step of work as a CUDA graph: launched by one call instead of hundreds of kernel launches.

The model of this assignment is small: a training step of a batch of 128 launches several hundred
short kernels, and the GPU waits on Python to launch them. A captured graph replays all of them at once.
"""

from collections.abc import Callable

import torch

Step = Callable[[], None]


def capture(step: Step, before: Step = lambda: None, warmup: int = 3) -> Step:
    """Capture ``step`` in a CUDA graph and return its replay.

    ``step`` must read and write only tensors that outlive it (fill its inputs in place before each
    replay). ``before`` runs before each warm-up call and before the capture (``zero_grad``, say).
    The warm-up calls run ``step`` for real (on a side stream, as capture requires): undo their
    effects afterwards if they matter.
    """
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(warmup):
            before()
            step()
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    before()
    with torch.cuda.graph(graph):
        step()
    return graph.replay
